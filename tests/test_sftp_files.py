"""What a sender's SFTP requests do to its uploads, one request at a time (no network).

The session object paramiko would drive (:class:`SenderTree`) is driven here directly; the real
clients against a running server are in test_sftp_clients.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import SENDER
from paramiko import SFTPAttributes
from paramiko.sftp import SFTP_NO_SUCH_FILE, SFTP_OK
from sqlalchemy import select
from zvk_inprocess import zvk_in

from ingest.errors import UsageError
from ingest.pipeline import Service
from ingest.receiving.dropfolder import classify
from ingest.receiving.sftp_fs import SenderTree
from ingest.receiving.sftp_ghosts import Ghosts
from ingest.receiving.sftp_handles import BUSY, NOT_YOURS, UploadHandle
from ingest.receiving.sftp_uploads import Completed, Refused, Uploads, Work
from ingest.reconciling.ledger import ledger_checks
from ingest.settings import Settings
from ingest.storing.models import Delivery, FindingRow
from ingest.storing.refusals import record_refusal

WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
TEMPORARY = [".monat.xml", "monat.xml.filepart", "monat.xml.part", "monat.xml.TMP", "x.partial"]


def session(settings: Settings, uploads: Uploads, sender: str = SENDER) -> SenderTree:
    """One SFTP session of ``sender``, as paramiko would make it after the login."""
    server = SimpleNamespace(
        sender=sender, context=SimpleNamespace(uploads=uploads, settings=settings)
    )
    return SenderTree(server)


def upload(tree: SenderTree, path: str, data: bytes = b"<Meldedatei/>") -> None:
    """Open, write and close, as every client does."""
    handle = tree.open(path, WRITE, SFTPAttributes())
    assert isinstance(handle, UploadHandle), handle
    assert handle.write(0, data) == SFTP_OK
    handle.close()


def queued(uploads: Uploads) -> list[Work]:
    found = []
    while not uploads.work.empty():
        found.append(uploads.work.get_nowait())
    return found


def times(atime: int, mtime: int, size: int | None = None) -> SFTPAttributes:
    attr = SFTPAttributes()
    attr.st_atime, attr.st_mtime, attr.st_size = atime, mtime, size
    return attr


# -- a file after CLOSE --------------------------------------------------------------------------
def test_closed_upload_answers_stat(settings: Settings) -> None:
    """Right after CLOSE the file is still there for `stat` (paramiko's `put` compares its size),
    read-only, and already on its way to the pipeline."""
    uploads = Uploads(settings)
    tree = session(settings, uploads)
    upload(tree, "/inbox/monat.xml", b"12345")
    found = tree.stat("/inbox/monat.xml")
    assert not isinstance(found, int)
    assert found.st_size == 5
    assert found.st_mode is not None and found.st_mode & 0o222 == 0
    assert [type(w) for w in queued(uploads)] == [Completed]


def test_closed_upload_takes_times_but_not_new_content(settings: Settings) -> None:
    """A SETSTAT of the times after CLOSE (WinSCP's "preserve timestamp") succeeds and shows in
    `stat`; a SETSTAT that would change the size is refused."""
    uploads = Uploads(settings)
    tree = session(settings, uploads)
    upload(tree, "/inbox/monat.xml", b"12345")
    assert tree.chattr("/inbox/monat.xml", times(1_600_000_000, 1_600_000_100)) == SFTP_OK
    found = tree.stat("/inbox/monat.xml")
    assert not isinstance(found, int)
    assert (found.st_atime, found.st_mtime) == (1_600_000_000, 1_600_000_100)
    assert tree.chattr("/inbox/monat.xml", times(1, 2, size=0)) == NOT_YOURS
    assert tree.chattr("/inbox/anders.xml", times(1, 2)) == SFTP_NO_SUCH_FILE


def test_times_set_on_the_open_handle_are_kept(settings: Settings) -> None:
    """`sftp -p` sets the times on the open handle before CLOSE: the file keeps them."""
    uploads = Uploads(settings)
    tree = session(settings, uploads)
    handle = tree.open("/inbox/monat.xml", WRITE, SFTPAttributes())
    assert isinstance(handle, UploadHandle)
    handle.write(0, b"<x/>")
    assert handle.chattr(times(1_500_000_000, 1_500_000_000)) == SFTP_OK
    handle.close()
    [work] = queued(uploads)
    assert isinstance(work, Completed)
    assert work.staged.path.stat().st_mtime == 1_500_000_000
    found = tree.stat("/inbox/monat.xml")
    assert not isinstance(found, int) and found.st_mtime == 1_500_000_000


def test_closed_upload_cannot_be_read_back(settings: Settings) -> None:
    """The file after CLOSE is listed, to this and to the sender's other sessions, but opening
    it to read is refused; another sender sees nothing of it."""
    uploads = Uploads(settings)
    tree = session(settings, uploads)
    upload(tree, "/inbox/monat.xml")
    later = session(settings, uploads)
    assert [a.filename for a in later.list_folder("/inbox")] == ["monat.xml"]  # type: ignore[union-attr]
    assert tree.open("/inbox/monat.xml", os.O_RDONLY, SFTPAttributes()) == NOT_YOURS
    stranger = session(settings, uploads, sender="15000002")
    assert stranger.list_folder("/inbox") == []
    assert stranger.stat("/inbox/monat.xml") == SFTP_NO_SUCH_FILE


def test_removing_a_closed_upload_removes_only_what_the_sender_sees(settings: Settings) -> None:
    """Deleting the file after CLOSE succeeds; the delivery goes on (it cannot be withdrawn)."""
    uploads = Uploads(settings)
    tree = session(settings, uploads)
    upload(tree, "/inbox/monat.xml")
    assert tree.remove("/inbox/monat.xml") == SFTP_OK
    assert tree.stat("/inbox/monat.xml") == SFTP_NO_SUCH_FILE
    assert [type(w) for w in queued(uploads)] == [Completed]


def test_renaming_a_closed_ordinary_file_delivers_it_once(settings: Settings) -> None:
    """A file closed under an ordinary name was delivered at CLOSE under that name; a rename
    afterwards succeeds and renames what the sender sees, and delivers nothing more."""
    uploads = Uploads(settings)
    tree = session(settings, uploads)
    upload(tree, "/inbox/monat.xml.upload")
    assert tree.rename("/inbox/monat.xml.upload", "/inbox/monat.xml") == SFTP_OK
    assert tree.stat("/inbox/monat.xml.upload") == SFTP_NO_SUCH_FILE
    assert not isinstance(tree.stat("/inbox/monat.xml"), int)
    [work] = queued(uploads)
    assert isinstance(work, Completed) and work.staged.name == "monat.xml.upload"


def test_ghosts_expire_and_are_bounded() -> None:
    """A ghost lasts its time, and a folder keeps only the newest ghosts."""
    now = [0.0]
    ghosts = Ghosts(seconds=10, per_folder=2, clock=lambda: now[0])
    folder = (SENDER, False)
    for name in ("a", "b", "c"):
        ghosts.add(folder, name, 1, 0.0)
    assert ghosts.names(folder) == ["b", "c"]
    now[0] = 9.0
    assert ghosts.rename(folder, "b", "d")  # a rename starts its time again
    now[0] = 10.0
    assert ghosts.names(folder) == ["d"]
    now[0] = 19.0
    assert ghosts.names(folder) == []


# -- temporary names -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", TEMPORARY)
def test_temporary_names_are_taken_on_rename_only(settings: Settings, name: str) -> None:
    """Dot-files and names ending in .filepart, .part, .tmp or .partial are not delivered at
    CLOSE; the rename to an ordinary name delivers them under that name."""
    uploads = Uploads(settings)
    tree = session(settings, uploads)
    upload(tree, f"/inbox/{name}")
    assert queued(uploads) == []
    assert tree.rename(f"/inbox/{name}", "/inbox/monat.xml") == SFTP_OK
    [work] = queued(uploads)
    assert isinstance(work, Completed) and work.staged.name == "monat.xml"


@pytest.mark.parametrize("name", TEMPORARY)
def test_drop_folder_and_sftp_agree_on_temporary_names(settings: Settings, name: str) -> None:
    """What the drop folder leaves alone is what SFTP takes on rename only, and the other way."""
    inbox = settings.inbox
    drop = classify(inbox, inbox / SENDER / name, settings.intake.ignore_suffixes)
    assert drop is None
    assert Uploads(settings).is_temporary(name)
    assert classify(inbox, inbox / SENDER / "monat.xml", settings.intake.ignore_suffixes)
    assert not Uploads(settings).is_temporary("monat.xml")


def test_temporary_name_never_renamed_is_refused(settings: Settings) -> None:
    """A file left under its temporary name when the session ends is refused with ZVDA006."""
    uploads = Uploads(settings)
    tree = session(settings, uploads)
    upload(tree, "/inbox/.monat.xml")
    tree.session_ended()
    [work] = queued(uploads)
    assert isinstance(work, Refused)
    assert (work.upload.code, work.upload.filename) == ("ZVDA006", ".monat.xml")
    assert staged_bytes(settings) == []


def test_rename_onto_a_name_being_uploaded_is_refused(settings: Settings) -> None:
    """A rename onto a name another session is uploading fails; the file keeps its temporary
    name and can be renamed once the name is free."""
    uploads = Uploads(settings)
    first, second = session(settings, uploads), session(settings, uploads)
    handle = first.open("/inbox/monat.xml", WRITE, SFTPAttributes())
    upload(second, "/inbox/monat.xml.filepart")
    assert second.rename("/inbox/monat.xml.filepart", "/inbox/monat.xml") == BUSY
    assert not isinstance(second.stat("/inbox/monat.xml.filepart"), int)
    assert isinstance(handle, UploadHandle)
    handle.close()
    [done] = queued(uploads)
    assert isinstance(done, Completed)
    uploads.finished(done.staged)  # the pipeline has answered it
    assert second.rename("/inbox/monat.xml.filepart", "/inbox/monat.xml") == SFTP_OK
    [work] = queued(uploads)
    assert isinstance(work, Completed) and work.staged.name == "monat.xml"


def test_rename_onto_a_name_waiting_for_its_protocol_is_refused(settings: Settings) -> None:
    """A name whose delivery is in the ledger and not yet answered cannot be renamed onto."""
    uploads = Uploads(settings, pending=lambda sender, test, name: name == "monat.xml")
    tree = session(settings, uploads)
    upload(tree, "/inbox/monat.xml.part")
    assert tree.rename("/inbox/monat.xml.part", "/inbox/monat.xml") == BUSY
    assert queued(uploads) == []


# -- refusals in the ledger ----------------------------------------------------------------------
def staged_bytes(settings: Settings) -> list[Path]:
    root = settings.spool / "sftp"
    return [p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".refused")]


def record(service: Service, work: Work) -> str:
    """What the hand-over thread of `zvk serve` does with a refusal."""
    assert isinstance(work, Refused)
    with service.sessions.begin() as s:
        record_refusal(s, service.catalogue, service.ruleset, work.upload)
    return work.upload.delivery_id


def refuse_too_large(settings: Settings) -> Uploads:
    """An upload stopped by the size limit, as `UploadHandle.write` stops it."""
    uploads = Uploads(settings)
    uploads.limit = 10
    tree = session(settings, uploads)
    handle = tree.open("/inbox/riesig.xml", WRITE, SFTPAttributes())
    assert isinstance(handle, UploadHandle)
    assert handle.write(0, b"0123456789") == SFTP_OK
    assert handle.write(10, b"x") != SFTP_OK
    return uploads


def test_refused_upload_has_a_ledger_row_and_its_protocol(
    settings: Settings, service: Service
) -> None:
    """A refused upload is entered in the ledger with its finding; the worker answers it with
    a protocol naming that LieferungsId, and nothing of its bytes is kept."""
    uploads = refuse_too_large(settings)
    [work] = queued(uploads)
    delivery_id = record(service, work)
    verdict = service.process(delivery_id)
    assert verdict is not None
    assert (verdict.delivery_id, verdict.result, verdict.filename) == (
        delivery_id,
        "abgewiesen",
        "riesig.xml",
    )
    assert [f.code for f in verdict.findings] == ["ZVDA005"]
    with service.sessions() as s:
        row = s.scalar(select(Delivery).where(Delivery.delivery_id == delivery_id))
        assert row is not None
        assert (row.state, row.channel, row.size, row.original_sha256) == (
            "answered",
            "sftp",
            10,
            None,
        )
        assert row.protocol_path and (settings.home / row.protocol_path).is_file()
        assert delivery_id in row.protocol_path
        assert staged_bytes(settings) == []
        assert ledger_checks(s, settings) == []


def test_refusal_is_recorded_once_across_a_restart(settings: Settings, service: Service) -> None:
    """A refusal whose note survived a crash is queued again and entered only once."""
    uploads = refuse_too_large(settings)
    [work] = queued(uploads)
    record(service, work)  # the crash came before the note was deleted
    restarted = Uploads(settings)
    restarted.recover()
    [again] = queued(restarted)
    assert isinstance(again, Refused) and again.upload == work.upload  # type: ignore[union-attr]
    with service.sessions.begin() as s:
        assert not record_refusal(s, service.catalogue, service.ruleset, again.upload)
    restarted.recorded(again)
    with service.sessions() as s:
        assert len(list(s.scalars(select(Delivery)))) == 1
        assert len(list(s.scalars(select(FindingRow)))) == 1
    restarted = Uploads(settings)
    restarted.recover()
    assert queued(restarted) == []


def test_refused_delivery_cannot_be_reprocessed(settings: Settings, service: Service) -> None:
    """`zvk reprocess` of a refused upload says that nothing was kept (exit status 2);
    `zvk deliveries show` shows it."""
    uploads = refuse_too_large(settings)
    delivery_id = record(service, queued(uploads)[0])
    with pytest.raises(UsageError):
        service.reset_for_rerun(delivery_id)
    shown = zvk_in(settings.home, "deliveries", "show", delivery_id)
    assert shown.returncode == 0, shown.stderr
    assert "ZVDA005" in shown.stdout and "nichts aufbewahrt" in shown.stdout
    again = zvk_in(settings.home, "reprocess", delivery_id)
    assert again.returncode == 2
    assert "send the file again" in again.stderr and "Traceback" not in again.stderr
