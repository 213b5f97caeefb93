"""Every date, time and period the schema lets through gets an answer with a finding code:
never ZVSY999 (internal error) and never a traceback, in `zvk check` (no database) and in a
real ingest (checks against stored state and the commit).

The schema's value space is wider than Python's: ``xs:dateTime`` (`Erstellt`) allows
``24:00:00``, negative years and years of five and more digits; the patterns of `Zeitraum` and
`Monat` allow the year ``0000``; ``xs:date`` fields (`Geburtsdatum`, `Beginn`, `Ende`) allow
0001-01-01 to 9999-12-31."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import codes
from hypothesis import HealthCheck, Phase, assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from lxml import etree
from zvk_inprocess import zvk_in

from ingest.samples.builder import FileBuilder, period_node
from ingest.settings import Settings, load_settings
from ingest.validating.checker import FileCheck
from ingest.validating.moments import month_bounds, parse_created, year_of_period
from ingest.validating.schema import validate_element


def monthly(period: str = "2026-10", created: str | None = None) -> FileBuilder:
    b = FileBuilder(period=period)
    if created is not None:
        b.header.set("Erstellt", created)
    b.anmeldung(1, date(2026, 10, 1))
    b.monatsabrechnung(month=period, insured=1)
    return b


def annual(period: str) -> FileBuilder:
    b = FileBuilder(kind="Jahresmeldung", period="2026")
    b.jahresmeldung(1)
    b.header.set("Zeitraum", period)
    return b


# -- the parsing of the values themselves --------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "utc", "representable"),
    [
        ("2026-11-02T24:00:00", "2026-11-02T23:00:00+00:00", True),  # Berlin midnight, CET
        ("2026-12-31T24:00:00Z", "2027-01-01T00:00:00+00:00", True),
        ("2026-11-02T09:30:00.1234567-00:00", "2026-11-02T09:30:00.123456+00:00", True),
        ("12026-11-02T09:00:00", "9999-12-31T23:59:59.999999+00:00", False),
        ("-2026-11-02T09:00:00", "0001-01-01T00:00:00+00:00", False),
        ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+00:00", False),
        ("9999-12-31T24:00:00-14:00", "9999-12-31T23:59:59.999999+00:00", False),
    ],
)
def test_created_of_any_schema_value(text: str, utc: str, representable: bool) -> None:
    """`Erstellt` is read for every xs:dateTime; what Python cannot hold is clamped and marked."""
    moment = parse_created(text)
    assert (moment.value.isoformat(), moment.representable) == (utc, representable)


def test_months_and_years_beyond_date() -> None:
    """Month bounds and the file's year leave out what `date` cannot hold."""
    assert month_bounds("0000-01") == (date.min, date.min)  # no date lies in it
    assert month_bounds("0000-12") == (date.min, date.min)
    assert month_bounds("9999-12") == (date(9999, 12, 1), None)
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert [year_of_period(p) for p in ("0000", "0000-01", "2026", "9999-12")] == [
        None,
        None,
        2026,
        9999,
    ]


# -- through a real ingest ------------------------------------------------------------------------
def test_created_at_24_is_the_next_midnight(deliver, service) -> None:
    """`Erstellt` 24:00:00 is accepted as the first moment of the next day."""
    verdict = deliver(monthly(created="2026-11-02T24:00:00"))
    assert verdict.result == "fehlerfrei", codes(verdict)


@pytest.mark.parametrize("created", ["12026-11-02T09:00:00", "9999-12-31T24:00:00-14:00"])
def test_created_after_year_9999_lies_after_receipt(deliver, service, created) -> None:
    """A five-digit year of `Erstellt` is a creation after the receipt: ZVVO054 for the file."""
    verdict = deliver(monthly(created=created))
    assert verdict.result == "abgewiesen"
    assert codes(verdict) == ["ZVVO054"]
    assert created in verdict.findings[0].message
    assert service.count_committed() == 0


@pytest.mark.parametrize(
    "created", ["-2026-11-02T09:00:00", "0001-01-01T00:00:00+14:00", "1899-12-31T22:00:00Z"]
)
def test_created_before_1900_is_a_hint(deliver, service, created) -> None:
    """A creation time before 1900 (also below year 1) is ZVVO055, a hint; the file counts."""
    verdict = deliver(monthly(created=created))
    assert verdict.result == "hinweise", codes(verdict)
    [hint] = verdict.findings
    assert (hint.code, hint.severity, hint.scope, hint.field) == (
        "ZVVO055",
        "H",
        "Datei",
        "Vorlauf/Erstellt",
    )
    assert service.count_committed() == 2


@pytest.mark.parametrize("period", ["0000-01", "0000-12", "9999-12"])
def test_monthly_file_of_an_unrepresentable_month(deliver, service, period) -> None:
    """A Monatsmeldung for year 0000 or 9999-12 with its Monatsabrechnung: ZVVO030, no
    internal error while the Monatsabrechnung is checked against stored state."""
    verdict = deliver(monthly(period))
    assert "ZVSY999" not in codes(verdict)
    assert "ZVVO030" in codes(verdict)
    assert verdict.result == "abgewiesen"


@pytest.mark.parametrize("period", ["0000", "9999"])
def test_annual_file_of_year_0000_or_9999(deliver, service, period) -> None:
    """A Jahresmeldung file for the year 0000 or 9999: ZVVO030, no internal error."""
    first = FileBuilder()
    first.anmeldung(1, date(2026, 1, 1))
    assert deliver(first).result == "fehlerfrei"
    b = annual(period)
    b.header.set("Dateifolgenummer", 2)
    verdict = deliver(b)
    assert "ZVSY999" not in codes(verdict)
    assert "ZVVO030" in codes(verdict)


# -- through `zvk check`, a real process --------------------------------------------------------
EDGE_FILES = {
    "erstellt-24": monthly(created="2026-11-02T24:00:00"),
    "erstellt-12026": monthly(created="12026-11-02T09:00:00"),
    "erstellt-minus": monthly(created="-2026-11-02T09:00:00"),
    "erstellt-jahr1": monthly(created="0001-01-01T00:00:00+14:00"),
    "zeitraum-0000-01": monthly("0000-01"),
    "zeitraum-9999-12": monthly("9999-12"),
    "zeitraum-0000": annual("0000"),
    "zeitraum-2026-00": monthly("2026-00"),
}


def test_zvk_check_answers_every_edge_value(tmp_path: Path) -> None:
    """`zvk check` over the edge values: a protocol for each file, exit status 0 or 1."""
    files = []
    for name, builder in EDGE_FILES.items():
        files.append(str(builder.write(tmp_path / f"{name}.xml")))
    b = monthly()
    b.reports[1].set("Monat", "0000-01")
    files.append(str(b.write(tmp_path / "monat-0000-01.xml")))
    done = zvk_in(None, "check", *files)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout.count("Verarbeitungsprotokoll der Zusatzversorgungskasse") == len(files)
    assert "ZVSY999" not in done.stdout
    for code in ("ZVVO054", "ZVVO055", "ZVVO030", "ZVMA020"):
        assert code in done.stdout


# -- the schema's value space, drawn ------------------------------------------------------------
def _xs_datetime() -> st.SearchStrategy[str]:
    year = st.one_of(
        st.integers(1, 9999).map(lambda y: f"{y:04d}"),
        st.integers(10000, 10**7).map(str),
        st.integers(1, 9999).map(lambda y: f"-{y:04d}"),
    )
    two = lambda lo, hi: st.integers(lo, hi).map(lambda n: f"{n:02d}")  # noqa: E731
    zone = st.one_of(
        st.just(""),
        st.just("Z"),
        st.tuples(st.sampled_from("+-"), two(0, 13), two(0, 59)).map(
            lambda t: f"{t[0]}{t[1]}:{t[2]}"
        ),
        st.sampled_from(["+14:00", "-14:00"]),
    )
    fraction = st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,9}", fullmatch=True))
    clock = st.one_of(
        st.tuples(two(0, 23), two(0, 59), two(0, 59)).map(":".join),
        st.just("24:00:00"),
    )
    return st.builds(
        lambda y, m, d, c, f, z: f"{y}-{m}-{d}T{c}{f}{z}",
        year,
        two(1, 12),
        two(1, 31),
        clock,
        fraction,
        zone,
    )


DATES = st.one_of(
    st.dates(date(1, 1, 1), date(9999, 12, 31)),
    st.sampled_from([date(1, 1, 1), date(9999, 12, 31), date(1900, 1, 1), date(2026, 12, 31)]),
)
ZEITRAUM = st.from_regex(r"[0-9]{4}(-[0-9]{2})?", fullmatch=True)
MONAT = st.from_regex(r"[0-9]{4}-(0[1-9]|1[0-2])", fullmatch=True)


@st.composite
def date_files(draw: st.DrawFn) -> FileBuilder:
    """A file whose dates, times and periods are drawn from what the schema accepts.

    The values are often coherent (the Monat is the Zeitraum, the periods lie in the file's
    year), so that the reports get past the stateless checks to the checks against stored
    state, where a date that Python cannot hold would do harm."""
    kind = draw(st.sampled_from(["Monatsmeldung", "Jahresmeldung"]))
    period = draw(ZEITRAUM)
    b = FileBuilder(kind=kind, period="2026-10" if kind == "Monatsmeldung" else "2026")
    b.header.set("Zeitraum", period)
    b.header.set("Erstellt", draw(_xs_datetime()))
    year = year_of_period(period)

    def day() -> date:
        if year is not None and draw(st.booleans()):
            return draw(st.dates(date(year, 1, 1), date(year, 12, 31)))
        return draw(DATES)

    def periods() -> list:  # type: ignore[type-arg]
        out = []
        for _ in range(draw(st.integers(1, 2))):
            begin, end = sorted((day(), day()))
            out.append(period_node(begin, end, "011011", "1000.00", "16.00"))
        return out

    b.anmeldung(1, day()).set("Person/Geburtsdatum", draw(DATES).isoformat())
    b.abmeldung(2, day(), periods=periods()).set("Person/Geburtsdatum", draw(DATES).isoformat())
    b.jahresmeldung(3, periods()).set("Person/Geburtsdatum", draw(DATES).isoformat())
    month = period if draw(st.booleans()) and len(period) == 7 else draw(MONAT)
    b.monatsabrechnung(month=month)
    return b


def _schema_valid(b: FileBuilder) -> bool:
    """Whether every element of the file passes the schema (the values are within its space)."""
    root = etree.fromstring(b.to_bytes())
    return all(not validate_element(child) for child in root)


@pytest.fixture(scope="module")
def check_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(tmp_path_factory.mktemp("check-home"))


@hsettings(max_examples=200, deadline=None)
@given(b=date_files())
def test_check_handles_the_value_space(check_settings, tmp_path_factory, b) -> None:
    """`zvk check`'s engine: every schema-valid date, time and period gives a protocol with
    codes, never ZVSY999 and never an exception."""
    assume(_schema_valid(b))
    path = b.write(tmp_path_factory.mktemp("f") / "datei.xml")
    outcome = FileCheck.without_database(path, check_settings).run()
    assert outcome.header is not None
    assert all(f.code != "ZVSY999" for f in outcome.findings)


@hsettings(
    max_examples=25,
    deadline=None,
    # The examples share the test's database: a replay is not the same run, so no shrinking.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(b=date_files())
def test_ingest_handles_the_value_space(deliver, service, b) -> None:
    """A real ingest of the same files (as test deliveries, so that every example meets the
    same stored state): checks against stored state included, never ZVSY999."""
    assume(_schema_valid(b))
    verdict = deliver(b, test=True)
    assert "ZVSY999" not in codes(verdict), verdict.findings
    assert verdict.result in ("fehlerfrei", "hinweise", "teilweise_abgewiesen", "abgewiesen")
