"""``zvk persons search``: a member's persons and their numbers."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from typing import Annotated

import typer

from ingest.cli.context import fail, sessions_of
from ingest.storing.persons import PersonHit, search_persons
from ingest.validating.identifiers import rvnr_shaped

app = typer.Typer(help="Insured persons of the fund.", no_args_is_help=True)

FORMATS = ("text", "csv", "json")
COLUMNS = [
    "versicherungsnummer",
    "rvnr",
    "familienname",
    "vorname",
    "geburtsname",
    "geburtsdatum",
    "abrechnungsstelle",
    "beginn",
    "ende",
]


def _rows(hits: list[PersonHit]) -> list[dict[str, str]]:
    return [
        {
            "versicherungsnummer": hit.versicherungsnummer,
            "rvnr": hit.rvnr or "",
            "familienname": hit.family_name,
            "vorname": hit.first_name,
            "geburtsname": hit.birth_name or "",
            "geburtsdatum": hit.birth_date.isoformat(),
            "abrechnungsstelle": rel.billing_office,
            "beginn": rel.begin.isoformat(),
            "ende": rel.end.isoformat() if rel.end else "",
        }
        for hit in hits
        for rel in hit.relationships
    ]


def _json(hit: PersonHit) -> dict[str, object]:
    return {
        "versicherungsnummer": hit.versicherungsnummer,
        "rvnr": hit.rvnr,
        "familienname": hit.family_name,
        "vorname": hit.first_name,
        "geburtsname": hit.birth_name,
        "geburtsdatum": hit.birth_date.isoformat(),
        "versicherungsverhaeltnisse": [
            {
                "abrechnungsstelle": rel.billing_office,
                "beginn": rel.begin.isoformat(),
                "ende": rel.end.isoformat() if rel.end else None,
            }
            for rel in hit.relationships
        ],
    }


def _text(hits: list[PersonHit]) -> str:
    lines = []
    for hit in hits:
        born = f" geb. {hit.birth_name}" if hit.birth_name else ""
        lines.append(
            f"{hit.versicherungsnummer}  RVNR {hit.rvnr or '-'}  "
            f"{hit.family_name}, {hit.first_name}{born}  *{hit.birth_date.strftime('%d.%m.%Y')}"
        )
        for rel in hit.relationships:
            end = rel.end.strftime("%d.%m.%Y") if rel.end else "offen"
            lines.append(
                f"    Abrechnungsstelle {rel.billing_office}: "
                f"{rel.begin.strftime('%d.%m.%Y')} – {end}"
            )
    return "\n".join(lines)


@app.command("search")
def persons_search(
    ctx: typer.Context,
    mitglied: Annotated[
        str, typer.Option("--mitglied", help="Mitgliedsnummer: search only this member's persons.")
    ],
    rvnr: Annotated[str | None, typer.Option("--rvnr", help="Rentenversicherungsnummer.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Family name or birth name (with --geburtsdatum).")
    ] = None,
    geburtsdatum: Annotated[
        str | None, typer.Option("--geburtsdatum", help="Birth date, YYYY-MM-DD.")
    ] = None,
    vorname: Annotated[
        str | None, typer.Option("--vorname", help="First name, to narrow a name search.")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text, csv or json.")] = "text",
) -> None:
    """Find a person's Versicherungsnummer by RVNR, or by name and birth date.

    Only persons insured (now or earlier) at one of the member's billing offices are found.
    Case, umlaut spelling (ü/ue) and accents do not matter in names. Exit status 1 when
    nobody is found.

    Examples:
      zvk persons search --mitglied 100001 --rvnr 65170839J003
      zvk persons search --mitglied 100001 --name Müller --geburtsdatum 1970-08-17
    """
    if output_format not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}")
    if rvnr is not None and not rvnr_shaped(rvnr.strip().upper()):
        fail(f"--rvnr {rvnr!r}: expected 8 digits (0-9), a letter and 3 digits")
    for option, value in (("--name", name), ("--vorname", vorname)):
        if value is not None and not value.strip():
            fail(f"{option} is empty")
    born = None
    if geburtsdatum is not None:
        try:
            born = date.fromisoformat(geburtsdatum)
        except ValueError:
            fail(f"--geburtsdatum {geburtsdatum!r} is not a date YYYY-MM-DD")
    with sessions_of(ctx)() as session:
        hits = search_persons(
            session, mitglied, rvnr=rvnr, family_name=name, birth_date=born, first_name=vorname
        )
    if output_format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_rows(hits))
    elif output_format == "json":
        typer.echo(json.dumps([_json(hit) for hit in hits], ensure_ascii=False, indent=2))
    elif hits:
        typer.echo(_text(hits))
    if not hits:
        typer.echo(f"no person of member {mitglied} matches", err=True)
        raise typer.Exit(1)
