"""The HTML report of an evaluation: key figures, charts (matplotlib, embedded PNG) and tables.

The page is one self-contained file: no script, no web font, no request to anywhere, so it opens
the same in a mail client, a browser without network and a headless browser in the tests.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import polars as pl
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ingest.localtime import local_german
from ingest.reconciling import report_labels as labels
from ingest.reconciling.evaluations import AGE_BANDS, OLDEST_BAND, Evaluation
from ingest.reconciling.report_labels import GENDERS

HTML_ROWS = 200
BLUE, ORANGE, GREEN, GREY, MUTED = "#1f5f99", "#e08a1e", "#3b8f5a", "#9aa5b1", "#5b6776"
TABLES = (
    ("abgleich", "Befunde des Abgleichs"),
    ("zahlungen", "Zahlungsübersicht (Soll, Ist, Differenz je Monat)"),
    (
        "versicherte",
        "Versicherungsverhältnisse nach Abrechnungsstelle, Status, Altersband und Geschlecht",
    ),
    ("fehlende_jahresmeldungen", "Fehlende Jahresmeldungen"),
    ("versorgungspunkte", "Versorgungspunkte je Person und Jahr"),
)


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart as embedded PNG, with what the tests check: the y-axis ticks and each series'
    colour (label → colour)."""

    title: str
    png: str
    width: int
    height: int
    ticks: tuple[float, ...] = ()
    colours: tuple[tuple[str, str], ...] = ()
    xlabels: tuple[str, ...] = ()


def german(value: Any) -> str:
    """Amounts as ``1.234,56``, other values as they are; empty for nothing."""
    if value is None:
        return ""
    if isinstance(value, Decimal | float):
        text = f"{value:,.2f}"
        return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return str(value)


def _whole(value: float, _position: int | None = None) -> str:
    """An axis label of a whole number, with thousands dots."""
    return f"{round(value):,}".replace(",", ".")


def _decimal(value: float, _position: int | None = None) -> str:
    """An axis label with a decimal comma (``1,5``), without trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text.replace(".", ",")


def _png(figure: Any, axes: Any, colours: dict[str, str]) -> Chart:
    low, high = axes.get_ylim()
    ticks = tuple(float(t) for t in axes.get_yticks() if low <= t <= high)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    xlabels = tuple(label.get_text() for label in axes.get_xticklabels())
    title = figure.get_label()
    plt.close(figure)
    data = buffer.getvalue()
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    encoded = base64.b64encode(data).decode("ascii")
    return Chart(title, encoded, width, height, ticks, tuple(colours.items()), xlabels)


def _frame(title: str) -> tuple[Any, Any]:
    figure, axes = plt.subplots(figsize=(7.5, 3.6))
    figure.set_label(title)
    axes.spines[["top", "right"]].set_visible(False)
    # Counts and euros: whole numbers on the axis, never 0.2 persons or 1 next to 1.
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=2))
    axes.yaxis.set_major_formatter(FuncFormatter(_whole))
    return figure, axes


def _nothing(axes: Any, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color=MUTED)
    axes.set_xticks([])
    axes.set_ylim(0, 1)


def due_paid_chart(zahlungen: pl.DataFrame) -> Chart:
    figure, axes = _frame("Soll und Ist je Monat (EUR)")
    axes.set_title("Soll (Gesamtbetrag) und Ist (Zahlungen) je Monat")
    colours = {"Soll": BLUE, "Ist": ORANGE}
    if not zahlungen.height:
        _nothing(axes, "keine Monatsabrechnungen und Zahlungen")
        return _png(figure, axes, colours)
    monthly = (
        zahlungen.group_by("monat")
        .agg(pl.col("soll").sum().cast(pl.Float64), pl.col("ist").sum().cast(pl.Float64))
        .sort("monat")
    )
    months = monthly["monat"].to_list()
    positions = range(len(months))
    for offset, (name, colour) in zip((-0.2, 0.2), colours.items(), strict=True):
        values = monthly[name.lower()].to_list()
        axes.bar([p + offset for p in positions], values, 0.4, label=name, color=colour)
    axes.set_xticks(list(positions), [f"{m[5:7]}/{m[2:4]}" for m in months], rotation=45)
    highest = max([*monthly["soll"].to_list(), *monthly["ist"].to_list(), 1.0])
    axes.set_ylim(0, highest * 1.25)
    axes.legend(frameon=False, ncol=2, loc="upper left")
    return _png(figure, axes, colours)


def insured_chart(active: pl.DataFrame) -> Chart:
    """Active persons (each once) by age band, stacked by gender."""
    figure, axes = _frame("Aktive Versicherte nach Altersband und Geschlecht")
    axes.set_title("Aktive Versicherte nach Altersband und Geschlecht")
    bands = [name for _limit, name in AGE_BANDS] + [OLDEST_BAND]
    bottom = [0] * len(bands)
    palette = {"W": ORANGE, "M": BLUE, "D": GREEN, "X": GREY}
    drawn: dict[str, str] = {}
    for gender, colour in palette.items():
        of_gender = active.filter(pl.col("geschlecht") == gender)
        counts = [of_gender.filter(pl.col("altersband") == band).height for band in bands]
        if any(counts):
            label = GENDERS[gender]
            axes.bar(bands, counts, bottom=bottom, label=label, color=colour)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
            drawn[label] = colour
    if drawn:
        axes.legend(frameon=False, title="Geschlecht")
        axes.set_ylabel("Personen")
    else:
        _nothing(axes, "keine aktiven Versicherten")
    return _png(figure, axes, drawn)


def points_chart(versorgungspunkte: pl.DataFrame) -> Chart:
    figure, axes = _frame("Verteilung der Versorgungspunkte")
    if not versorgungspunkte.height:
        axes.set_title("Versorgungspunkte je Person")
        _nothing(axes, "noch keine Jahresmeldungen")
        return _png(figure, axes, {})
    latest = int(versorgungspunkte["jahr"].max())  # type: ignore[arg-type]
    values = versorgungspunkte.filter(pl.col("jahr") == latest)["versorgungspunkte"]
    axes.hist(values.cast(pl.Float64).to_list(), bins=20, color=BLUE)
    axes.set_title(f"Versorgungspunkte je Person im Jahr {latest}")
    axes.set_xlabel("Versorgungspunkte")
    axes.xaxis.set_major_formatter(FuncFormatter(_decimal))
    axes.set_ylabel("Personen")
    return _png(figure, axes, {"Personen": BLUE})


def _tone(value: Decimal) -> str:
    """Less paid than due is bad (red), more is a deviation too (amber), equal is good."""
    return "bad" if value < 0 else "over" if value > 0 else "good"


def _cards(ev: Evaluation) -> list[dict[str, str]]:
    due = Decimal(ev.zahlungen["soll"].sum()) if ev.zahlungen.height else Decimal(0)
    paid = Decimal(ev.zahlungen["ist"].sum()) if ev.zahlungen.height else Decimal(0)
    difference = paid - due
    return [
        {"label": "Aktive Versicherte", "value": str(ev.active_persons().height), "tone": ""},
        {"label": "Soll (Gesamtbetrag)", "value": german(due), "tone": ""},
        {"label": "Ist (Zahlungen)", "value": german(paid), "tone": ""},
        {"label": "Differenz (Ist − Soll)", "value": german(difference), "tone": _tone(difference)},
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


HIDDEN = frozenset({"stichtag", "lauf"})  # the same on every row: said in the header
# The columns a clerk looks for first come first (who, then what), so they never hide at the
# right edge; in the findings a column empty on every row is left out of the page.
FIRST = {
    "abgleich": ["mitgliedsnummer", "abrechnungsstelle", "art", "zeitraum", "differenz", "soll"],
    "versorgungspunkte": ["versicherungsnummer", "familienname", "vorname", "jahr"],
}
DROP_EMPTY = frozenset({"abgleich"})
# Short keys never break; long texts (a bank reference, a hint) may break anywhere instead of
# widening the table past the page.
KEYS = frozenset({"mitgliedsnummer", "abrechnungsstelle", "zeitraum", "monat", "jahr"})
LONG = frozenset({"bezug", "hinweis"})
SIGNED = frozenset({"differenz"})


def _table(name: str, title: str, frame: pl.DataFrame, member: str | None) -> dict[str, Any]:
    hidden = HIDDEN | ({"mitgliedsnummer"} if member else set())
    first = [c for c in FIRST.get(name, []) if c in frame.columns]
    if name == "versorgungspunkte":
        first.append("versorgungspunkte")
    order = first + [c for c in frame.columns if c not in first]
    frame = frame.select([c for c in order if c not in hidden])
    if name in DROP_EMPTY and frame.height:
        frame = frame.select(
            [c for c in frame.columns if frame[c].cast(pl.String).fill_null("").ne("").any()]
        )
    numeric = {c for c, t in frame.schema.items() if t.is_numeric() or isinstance(t, pl.Decimal)}
    rows = []
    for row in frame.head(HTML_ROWS).iter_rows(named=True):
        cells = []
        for column, raw in row.items():
            classes = ["num"] if column in numeric else []
            classes += ["key"] if column in KEYS else ["long"] if column in LONG else []
            if column in SIGNED and raw is not None and raw != 0:
                classes.append("neg" if raw < 0 else "pos")
            text = labels.value(column, german(raw))
            cells.append({"text": text, "class": " ".join(classes)})
        rows.append(cells)
    more = max(frame.height - HTML_ROWS, 0)
    columns = [
        {"label": labels.column(c), "num": c in numeric, "key": c in KEYS} for c in frame.columns
    ]
    return {"id": name, "title": title, "columns": columns, "rows": rows, "more": more}


def render(ev: Evaluation) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    has_data = ev.has_data()
    charts = (
        [
            due_paid_chart(ev.zahlungen),
            insured_chart(ev.active_persons()),
            points_chart(ev.versorgungspunkte),
        ]
        if has_data
        else []
    )
    tables = ev.tables()
    return environment.get_template("bericht.html.j2").render(
        title=ev.title,
        member=ev.member,
        as_of=ev.as_of.strftime("%d.%m.%Y"),
        run_day=ev.run_day.strftime("%d.%m.%Y") if ev.run_day else None,
        generated=local_german(datetime.now(UTC)),
        cards=_cards(ev),
        charts=charts,
        has_data=has_data,
        tables=[_table(name, title, tables[name], ev.member) for name, title in TABLES],
    )
