"""What the reading pass over a file hands on, and the second process that reads a large file.

The pass yields events in file order (:data:`Event`). A file read in a second process
(:func:`read_into`) sends them through a pipe, batches of reports as MessagePack and the rest
pickled; the checking process decodes them and sees the same events in the same order.
"""

from __future__ import annotations

import fcntl
import gc
import multiprocessing
import pickle
import termios
import traceback
from array import array
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

import msgspec

from ingest.validating.findings import Finding
from ingest.validating.records import Header, ReportData

if TYPE_CHECKING:
    from ingest.validating.checker import FileCheck

GC_THRESHOLD = 100_000  # allocations between two young-generation collections during a pass


class Checked(msgspec.Struct, array_like=True, gc=False):
    """A report after the checks that need only the file, waiting for its batch."""

    report: ReportData | None  # None: the schema refused it
    findings: list[Finding] | None  # None: the stateless checks are still to run


@dataclass(slots=True)
class HeaderSeen:
    header: Header | None  # None: the Vorlauf is not schema-valid
    findings: list[Finding]


@dataclass(slots=True)
class Batch:
    checked: list[Checked]
    reports: int  # reports read so far
    position: int  # bytes read so far


@dataclass(slots=True)
class TrailerSeen:
    findings: list[Finding]


@dataclass(slots=True)
class End:
    total: int
    frame: list[Finding]  # the first problem of the file as a whole, if any


@dataclass(slots=True)
class ReadFailed:
    traceback: str


Event = HeaderSeen | Batch | TrailerSeen | End


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Fewer cyclic garbage collections during a pass over a file.

    A pass makes millions of short-lived objects and almost no cycles; with the default
    thresholds, the collector would traverse the long-lived heap (the imported libraries) again
    and again. The objects alive at the start are frozen (excluded from collection) and the
    collector runs less often; both are restored at the end.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def read_into(check: FileCheck, pipe: Connection) -> None:
    """The second process: run :meth:`FileCheck.read` and send every event."""
    waits = ReceiverWaits(pipe.fileno())
    try:
        with relaxed_gc():
            for event in check.read(leave_checks=waits):
                data = encode(event)
                if isinstance(event, Batch):
                    waits.batch_bytes = len(data)
                pipe.send_bytes(data)
    except BrokenPipeError:
        pass  # the checking process is gone; nobody waits for the rest
    except BaseException:
        pipe.send_bytes(encode(ReadFailed(traceback.format_exc())))
    finally:
        pipe.close()


def reading_context() -> multiprocessing.context.ForkServerContext:
    """Reading processes are forked from a server process that has the checks loaded (lxml,
    the schema code, the rules), so that a reading process starts reading at once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ingest.validating.checker"])
    return context


PIPE_BYTES = 1024 * 1024  # the pipe's buffer: a few batches of slack between the two processes


class ReceiverWaits:
    """Whether the receiving process is about to wait for the next batch: the pipe holds less
    than one batch (the size of the last one sent) for it to work on."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.batch_bytes = 0  # the last batch's size, 0 before the first

    def __call__(self) -> bool:
        queued = array("i", [0])
        try:
            fcntl.ioctl(self.fd, termios.FIONREAD, queued)
        except OSError:
            return False  # cannot tell: keep the checks in the reading process
        return queued[0] < self.batch_bytes


def widen(connection: Connection) -> None:
    """Give the pipe room for a few batches (Linux; elsewhere its default stays).

    The default 64 KiB holds less than one batch, so that either process would wait whenever
    the other has a slow batch. 1 MiB is the largest an unprivileged process may ask for by
    default.
    """
    # not Linux, or above /proc/sys/fs/pipe-max-size: the default buffer stays
    with suppress(OSError):
        fcntl.fcntl(connection.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)


# Between the two processes a batch of reports travels as MessagePack (records are msgspec
# structs, encoded and decoded with their types); the few other events are pickled. The first
# byte tells which.
_BATCH_ENCODER = msgspec.msgpack.Encoder()
_BATCH_DECODER = msgspec.msgpack.Decoder(tuple[list[Checked], int, int])


def encode(event: Event | ReadFailed) -> bytes:
    """An event as bytes for the pipe."""
    if isinstance(event, Batch):
        return b"B" + _BATCH_ENCODER.encode((event.checked, event.reports, event.position))
    return b"P" + pickle.dumps(event, pickle.HIGHEST_PROTOCOL)


def decode(data: bytes) -> Event | ReadFailed:
    """An event from the bytes :func:`encode` made."""
    if data[:1] == b"B":
        checked, reports, position = _BATCH_DECODER.decode(memoryview(data)[1:])
        return Batch(checked, reports, position)
    # from our own reading process over a private pipe, as multiprocessing's recv() would
    event: Event | ReadFailed = pickle.loads(memoryview(data)[1:])  # noqa: S301
    return event
