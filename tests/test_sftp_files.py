"""What a sender's SFTP requests do to its uploads, one request at a time (no network).

The session object paramiko would drive (:class:`SenderTree`) is driven here directly; the real
clients against a running server are in test_sftp_clients.py.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from conftest import SENDER
from paramiko import SFTPAttributes
from paramiko.sftp import SFTP_OK

from ingest.receiving.dropfolder import classify
from ingest.receiving.sftp_fs import SenderTree
from ingest.receiving.sftp_handles import BUSY, UploadHandle
from ingest.receiving.sftp_uploads import Completed, Uploads, Work
from ingest.settings import Settings

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
