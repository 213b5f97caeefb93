"""The `zvk` command is assembled in one place: importing its app gives every command, the
command modules do not import the module that assembles them, and no command module holds SQL."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from zvk_inprocess import zvk_in

CLI = Path(__file__).resolve().parents[1] / "ingest" / "cli"
# The ledger's queries behind `zvk deliveries` move into the ledger module of the pipeline.
SQL = re.compile(
    r"\bfrom sqlalchemy import\b|\bselect\(|\btext\("
    r"|\b(session|connection)\.(execute|get|scalars?|query)\("
)


def _listed_commands(help_text: str) -> set[str]:
    """The command names in the ``Commands:`` section of a help page."""
    section = help_text.split("Commands:\n", 1)[1]
    return {
        line.split()[0] for line in section.splitlines() if line.startswith("  ") and line[2] != " "
    }


def test_importing_the_app_alone_gives_every_command_that_help_lists() -> None:
    """A fresh interpreter that imports only ``ingest.cli.main.app`` sees every command and group
    that ``zvk --help`` lists, and every subcommand of each group."""
    program = (
        "import typer.main\n"
        "from ingest.cli.main import app\n"
        "root = typer.main.get_command(app)\n"
        "for name, sub in root.commands.items():\n"
        "    print(name, *getattr(sub, 'commands', {}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    tree = {line.split()[0]: set(line.split()[1:]) for line in done.stdout.splitlines()}
    listed = zvk_in(None, "--help")
    assert listed.returncode == 0, listed.stderr
    assert set(tree) == _listed_commands(listed.stdout)
    assert {"check", "init", "ingest", "serve", "deliveries", "export", "members"} <= set(tree)
    for group, subcommands in tree.items():
        if subcommands:
            shown = zvk_in(None, group, "--help")
            assert subcommands == _listed_commands(shown.stdout), group
    assert tree["export"] == {"meldungen", "abgleich", "versorgungspunkte"}


def test_command_modules_do_not_import_the_assembly() -> None:
    """Command modules take what they share from ``ingest.cli.context``: no import cycle."""
    for module in sorted(CLI.glob("*.py")):
        if module.name == "main.py":
            continue
        imported = {
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert "ingest.cli.main" not in imported, module.name


def test_no_sql_in_the_command_modules() -> None:
    """Queries live in the modules of storing and reconciling; a command calls them."""
    for module in sorted(CLI.glob("*.py")):
        text = module.read_text(encoding="utf-8")
        assert not SQL.search(text), f"{module.name}: {SQL.search(text)}"


def test_a_library_error_is_one_line_with_exit_status_2_through_the_app(tmp_path: Path) -> None:
    """Invoked through the app (as CliRunner and other Python callers do), a library error
    still becomes one ``zvk:`` line and exit status 2, as in the console script."""
    done = zvk_in(tmp_path / "nirgends", "deliveries", "list")
    assert done.returncode == 2
    assert done.stderr.startswith("zvk: ") and "zvk init" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
