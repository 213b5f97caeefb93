"""Logs name no person: personal values become keyed tokens, SQL errors come without values."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ingest import logs
from ingest.settings import Settings, load_settings
from ingest.storing.db import make_engine

RVNR = "15070649C103"


def test_personal_values_become_tokens_keyed_with_the_home(settings: Settings) -> None:
    """`zvk init` made the home's key; a log line carries a token of it, never the value, and
    not the plain hash that anybody could compute for every possible number or birth date."""
    key = settings.keys / logs.LOG_KEY_FILE
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    stream = io.StringIO()
    logs.configure(settings, stream)
    logs.get_logger("test").info("person seen", rvnr=RVNR, geburtsdatum="1949-07-15")
    written = stream.getvalue()
    assert RVNR not in written and "1949-07-15" not in written
    token = json.loads(written.splitlines()[-1])["rvnr"]
    assert token.startswith("~") and len(token) == 13
    assert token != "~" + hashlib.sha256(f"zvk-log:{RVNR}".encode()).hexdigest()[:12]
    # the same home: the same token in every process, so an operator can follow a person
    logs.configure(settings, io.StringIO())
    assert logs.pseudonym(RVNR) == token
    # another home (another key): another token
    other = load_settings(settings.home.parent / "other")
    assert logs.ensure_log_key(other.keys) == [f"keys/{logs.LOG_KEY_FILE}"]
    assert logs.ensure_log_key(other.keys) == []  # made once
    logs.configure(other, io.StringIO())
    assert logs.pseudonym(RVNR) != token
    logs.configure(settings, io.StringIO())


def test_a_database_error_is_logged_without_the_values_it_quotes(settings: Settings) -> None:
    """A failed statement as `log.exception` writes it: its traceback and the kind of error,
    but neither SQLAlchemy's parameters nor what the database quotes of the row (PostgreSQL's
    "Failing row contains (…)"), also when another exception was raised from it."""
    engine = make_engine(settings)
    stream = io.StringIO()
    logs.configure(settings, stream)
    log = logs.get_logger("test")
    with pytest.raises(IntegrityError) as failed, engine.begin() as connection:
        connection.execute(
            text("INSERT INTO persons (id, family_name) VALUES (:id, :name)"),
            {"id": 1, "name": "Mustermann"},
        )
    engine.dispose()
    assert "hide_parameters" in str(failed.value)  # SQLAlchemy's part: the values left out
    try:
        raise failed.value
    except IntegrityError:
        log.exception("could not store")
    try:
        raise RuntimeError(f"wrapped: {failed.value}") from failed.value
    except RuntimeError:
        log.exception("could not store either")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["could not store", "could not store either"]
    for line in lines:
        assert "Mustermann" not in json.dumps(line)
        assert "Traceback (most recent call last)" in line["exception"]
        assert "IntegrityError" in line["exception"]
        assert "versicherungsnummer" in line["exception"]  # the column it is about
    assert "RuntimeError: …" in lines[1]["exception"]
    logs.configure(settings, io.StringIO())
