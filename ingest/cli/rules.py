"""``zvk rules``: the finding codes and the rules that give them."""

from __future__ import annotations

import typer

from ingest.validating.codes_doc import reference
from ingest.validating.findings import load_catalogue
from ingest.validating.registry import registered

app = typer.Typer(help="The finding codes and the rules that give them.", no_args_is_help=True)


def _where(runs_alone: bool, parts: tuple[str, ...]) -> str:
    if parts:
        return "stateless+stored"
    return "stateless" if runs_alone else "stored"


@app.command("list")
def rules_list() -> None:
    """Every code with severity, scope, where its rule runs and the function that gives it.

    "stateless" rules run without a database (`zvk check` gives their findings); "stored"
    rules need the fund's stored state. A code with both parts names both functions.

    Example: zvk rules list
    """
    catalogue = load_catalogue()
    rules = registered()
    rows = [("code", "severity", "scope", "runs", "function")]
    for code, definition in catalogue.codes.items():
        found = rules.get(code)
        if found is None:
            rows.append((code, definition.severity, "-", "unregistered", "-"))
            continue
        function = found.where
        if found.stored_part is not None:
            part = found.stored_part
            function += f" + {part.__module__}.{part.__qualname__}"
        runs = _where(found.stateless, definition.parts)
        rows.append((code, definition.severity, found.scope.value, runs, function))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        typer.echo("  ".join([*cells, row[4]]))


@app.command("doc")
def rules_doc() -> None:
    """The reference of all finding codes in Markdown (docs/codes.md).

    Example: zvk rules doc > docs/codes.md
    """
    typer.echo(reference(), nl=False)
