"""The HTML report of an evaluation: key figures, charts (matplotlib, embedded PNG) and tables.

The page is one self-contained file: no script, no web font, no request to anywhere, so it opens
the same in a mail client, a browser without network and a headless browser in the tests.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import polars as pl

from ingest.reconciling.evaluations import AGE_BANDS, OLDEST_BAND, Evaluation

BERLIN = ZoneInfo("Europe/Berlin")
HTML_ROWS = 200
BLUE, ORANGE, GREY = "#1f5f99", "#e08a1e", "#9aa5b1"
TABLES = (
    ("abgleich", "Befunde des Abgleichs"),
    ("zahlungen", "Zahlungsübersicht (Soll, Ist, Differenz je Monat)"),
    ("versicherte", "Versicherte nach Abrechnungsstelle, Status, Altersband und Geschlecht"),
    ("fehlende_jahresmeldungen", "Fehlende Jahresmeldungen"),
    ("versorgungspunkte", "Versorgungspunkte je Person und Jahr"),
)


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    png: str
    width: int
    height: int


def german(value: Any) -> str:
    """Amounts as ``1.234,56``, other values as they are; empty for nothing."""
    if value is None:
        return ""
    if isinstance(value, Decimal | float):
        text = f"{value:,.2f}"
        return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return str(value)


def _png(figure: Any) -> Chart:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    title = figure.get_label()
    plt.close(figure)
    data = buffer.getvalue()
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    return Chart(title, base64.b64encode(data).decode("ascii"), width, height)


def due_paid_chart(zahlungen: pl.DataFrame) -> Chart:
    monthly = (
        zahlungen.group_by("monat")
        .agg(pl.col("soll").sum().cast(pl.Float64), pl.col("ist").sum().cast(pl.Float64))
        .sort("monat")
    )
    figure, axes = plt.subplots(figsize=(7.5, 3.6))
    figure.set_label("Soll und Ist je Monat (EUR)")
    months = monthly["monat"].to_list()
    positions = range(len(months))
    axes.bar([p - 0.2 for p in positions], monthly["soll"].to_list(), 0.4, label="Soll", color=BLUE)
    axes.bar([p + 0.2 for p in positions], monthly["ist"].to_list(), 0.4, label="Ist", color=ORANGE)
    axes.set_xticks(list(positions), [m[2:] for m in months], rotation=45, ha="right")
    axes.yaxis.set_major_formatter(lambda v, _pos: german(Decimal(int(v)))[:-3])
    axes.set_title("Soll (Gesamtbetrag) und Ist (Zahlungen) je Monat")
    highest = max([*monthly["soll"].to_list(), *monthly["ist"].to_list(), 1.0])
    axes.set_ylim(0, highest * 1.25)
    axes.legend(frameon=False, ncol=2, loc="upper left")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def insured_chart(versicherte: pl.DataFrame) -> Chart:
    active = versicherte.filter(pl.col("status") == "aktiv")
    bands = [name for _limit, name in AGE_BANDS] + [OLDEST_BAND]
    figure, axes = plt.subplots(figsize=(7.5, 3.6))
    figure.set_label("Aktive Versicherte nach Altersband und Geschlecht")
    bottom = [0] * len(bands)
    colours = {"W": ORANGE, "M": BLUE, "D": GREY, "X": "#5b6776"}
    for gender, colour in colours.items():
        counts = [
            int(
                active.filter((pl.col("altersband") == band) & (pl.col("geschlecht") == gender))[
                    "anzahl"
                ].sum()
            )
            for band in bands
        ]
        if any(counts):
            axes.bar(bands, counts, bottom=bottom, label=gender, color=colour)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_title("Aktive Versicherte nach Altersband und Geschlecht")
    if any(bottom):
        axes.legend(frameon=False, title="Geschlecht")
    else:
        axes.text(2.5, 0.5, "keine aktiven Versicherten", ha="center", va="center")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def points_chart(versorgungspunkte: pl.DataFrame) -> Chart:
    figure, axes = plt.subplots(figsize=(7.5, 3.6))
    figure.set_label("Verteilung der Versorgungspunkte")
    if versorgungspunkte.height:
        latest = int(versorgungspunkte["jahr"].max())  # type: ignore[arg-type]
        values = versorgungspunkte.filter(pl.col("jahr") == latest)["versorgungspunkte"]
        axes.hist(values.cast(pl.Float64).to_list(), bins=20, color=BLUE)
        axes.set_title(f"Versorgungspunkte je Person im Jahr {latest}")
    else:
        axes.text(0.5, 0.5, "noch keine Jahresmeldungen", ha="center", va="center")
        axes.set_title("Versorgungspunkte je Person")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def _cards(ev: Evaluation) -> list[dict[str, str]]:
    due = ev.zahlungen["soll"].sum() if ev.zahlungen.height else Decimal(0)
    paid = ev.zahlungen["ist"].sum() if ev.zahlungen.height else Decimal(0)
    active = ev.versicherte.filter(pl.col("status") == "aktiv")["anzahl"].sum()
    difference = Decimal(paid) - Decimal(due)
    return [
        {"label": "Aktive Versicherte", "value": str(active), "tone": ""},
        {"label": "Soll (Gesamtbetrag)", "value": german(Decimal(due)), "tone": ""},
        {"label": "Ist (Zahlungen)", "value": german(Decimal(paid)), "tone": ""},
        {
            "label": "Differenz",
            "value": german(difference),
            "tone": "bad" if difference < 0 else "good",
        },
        {
            "label": "Befunde des Abgleichs",
            "value": str(ev.abgleich.height),
            "tone": "bad" if ev.abgleich.height else "good",
        },
        {
            "label": "Fehlende Jahresmeldungen",
            "value": str(ev.fehlende_jahresmeldungen.height),
            "tone": "bad" if ev.fehlende_jahresmeldungen.height else "good",
        },
    ]


HIDDEN = frozenset({"stichtag", "lauf", "bezug"})  # in the CSV and XLSX, too wide for the page


def _table(name: str, title: str, frame: pl.DataFrame) -> dict[str, Any]:
    frame = frame.select([c for c in frame.columns if c not in HIDDEN])
    numeric = {c for c, t in frame.schema.items() if t.is_numeric() or isinstance(t, pl.Decimal)}
    rows = [
        [{"text": german(value), "num": column in numeric} for column, value in row.items()]
        for row in frame.head(HTML_ROWS).iter_rows(named=True)
    ]
    more = max(frame.height - HTML_ROWS, 0)
    return {"id": name, "title": title, "columns": frame.columns, "rows": rows, "more": more}


def render(ev: Evaluation) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    charts = [
        due_paid_chart(ev.zahlungen),
        insured_chart(ev.versicherte),
        points_chart(ev.versorgungspunkte),
    ]
    tables = ev.tables()
    return environment.get_template("bericht.html.j2").render(
        title=ev.title,
        member=ev.member,
        as_of=ev.as_of.strftime("%d.%m.%Y"),
        generated=datetime.now(BERLIN).strftime("%d.%m.%Y %H:%M"),
        cards=_cards(ev),
        charts=charts,
        tables=[_table(name, title, tables[name]) for name, title in TABLES],
    )
