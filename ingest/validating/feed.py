"""What the parser is fed: the file, with long runs of whitespace shortened and its cost counted.

libxml2 keeps whitespace between elements as text, and refuses a text node of more than ten
million characters (``XML_MAX_TEXT_LENGTH``) unless every protection against huge text is
switched off. A file may hold any amount of whitespace between its elements, so the parser is fed
each run of more than ``KEEP`` whitespace characters shortened: to its first ``KEEP`` characters
when it lies on one line, else to one line break and the last ``KEEP`` characters of its last
line. Whitespace carries nothing in this format (every field that keeps it is a string of at most
80 characters, so a field with a run of ``KEEP`` characters is as invalid as with any longer one),
and a run of more than ``KEEP`` characters inside a field's text stays protected: the run is
whitespace, the text around it counts towards libxml2's limit as before.

Lines and columns the parser reports are positions in what it was fed; :meth:`Feed.original`
turns them back into positions in the file.

:attr:`Feed.fed` counts the bytes fed and :attr:`Feed.open_tag` the bytes of a tag (or comment)
still open at the end of what was fed, so that the reader can bound what an element builds
before the parser has built it. Ordinary text costs a few searches per read: lines are counted
only from the first shortened run on.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import IO

KEEP = 4096  # whitespace characters of a run passed on; longer runs are shortened
WHITESPACE = b" \t\r\n"
_STRIDE = KEEP // 2  # a run longer than KEEP covers two neighbouring samples this far apart
_SAMPLE = bytes(0x20 if byte in WHITESPACE else 0x78 for byte in range(256))


class _Run:
    """A run of whitespace being read, perhaps across several reads of the file."""

    __slots__ = ("head", "last_length", "last_line", "length", "newlines", "offset")

    def __init__(self, offset: int) -> None:
        self.offset = offset  # where it starts in the file
        self.head = b""  # its first KEEP + 1 characters
        self.last_line = b""  # the last KEEP characters after its last line break
        self.last_length = 0  # characters after its last line break
        self.length = 0
        self.newlines = 0

    def extend(self, chunk: bytes) -> None:
        if len(self.head) <= KEEP:
            self.head += chunk[: KEEP + 1 - len(self.head)]
        self.length += len(chunk)
        last_break = chunk.rfind(b"\n")
        if last_break != -1:
            self.newlines += chunk.count(b"\n")
            self.last_line = chunk[last_break + 1 :][-KEEP:]
            self.last_length = len(chunk) - last_break - 1
        else:
            self.last_line = (self.last_line + chunk)[-KEEP:]
            self.last_length += len(chunk)


class Feed:
    """A file object for ``iterparse``: reads the file, shortened as described above.

    ``before_read`` is called before each read, when the parser has handled everything fed so
    far; it may raise to stop the parse.
    """

    def __init__(self, raw: IO[bytes], before_read: Callable[[], None] | None = None) -> None:
        self._raw = raw
        self._before_read = before_read
        self._run: _Run | None = None  # whitespace at the end of what was read, held back
        self._eof = False
        self._read = 0  # bytes read from the file
        self.fed = 0  # bytes fed to the parser
        self.open_tag = 0  # bytes since a `<` that no `>` has closed yet, 0 if none
        self._counting = False  # lines are counted from the first shortened run on
        self._line = 1  # the line of the fed text the next byte is on
        self._column = 0  # bytes fed on that line so far
        # line shifts: from fed line _shift_lines[i] on, add _shift_total[i] lines
        self._shift_lines = array("q")
        self._shift_total = array("q")
        # column shifts on one fed line: columns above the threshold move right by delta
        self._cut_lines = array("q")
        self._cut_columns = array("q")
        self._cut_deltas = array("q")

    # -- the file object ------------------------------------------------------------------
    def read(self, size: int = -1) -> bytes:
        if self._before_read is not None:
            self._before_read()
        want = size if size > 0 else 1 << 16
        while True:
            raw = b"" if self._eof else self._raw.read(want)
            if not raw:
                self._eof = True
                out = self._end_run() if self._run is not None else b""
                self._count(out)
                return out
            out = self._squeeze(raw)
            self._read += len(raw)
            if out:
                self._count(out)
                return out

    # -- positions --------------------------------------------------------------------------
    def original(
        self, line: int | None, column: int | None = None
    ) -> tuple[int | None, int | None]:
        """A position the parser reported (fed text) as a position in the file."""
        if line is None:
            return None, column
        if column is not None:
            lo = bisect_left(self._cut_lines, line)
            hi = bisect_right(self._cut_lines, line)
            column += sum(
                self._cut_deltas[i] for i in range(lo, hi) if column > self._cut_columns[i]
            )
        at = bisect_right(self._shift_lines, line)
        return line + (self._shift_total[at - 1] if at else 0), column

    def line(self, line: int | None) -> int | None:
        return self.original(line)[0]

    @property
    def fed_line(self) -> int | None:
        """The line of the fed text that was fed last, when lines are counted."""
        return self._line if self._counting else None

    # -- shortening -------------------------------------------------------------------------
    def _squeeze(self, data: bytes) -> bytes:
        parts: list[bytes] = []
        start = 0
        if self._run is not None:
            rest = data.lstrip(WHITESPACE)
            leading = len(data) - len(rest)
            self._run.extend(data[:leading])
            if not rest:
                return b""
            parts.append(self._end_run())
            start = leading
        # A trailing run may go on in the next read: hold it back.
        end = max(len(data.rstrip(WHITESPACE)), start)
        runs = self._long_runs(data, start, end)
        if not parts and not runs and end == len(data):
            self._note(data)
            return data
        position = start
        for run_start, run_end in runs:
            parts.append(data[position:run_start])
            self._note(parts[-1])
            self._run = _Run(self._read + run_start)
            self._run.extend(data[run_start:run_end])
            parts.append(self._end_run())
            position = run_end
        parts.append(data[position:end])
        self._note(parts[-1])
        if end < len(data):
            self._run = _Run(self._read + end)
            self._run.extend(data[end:])
        return b"".join(parts)

    @staticmethod
    def _long_runs(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
        """Runs of more than KEEP whitespace characters wholly inside ``data[start:end]``.

        Found on a sample of every ``_STRIDE``-th byte first (two neighbouring samples that are
        both whitespace), so that ordinary text costs one strided copy and one search.
        """
        first = -(-start // _STRIDE)
        sample = data[first * _STRIDE : end : _STRIDE].translate(_SAMPLE)
        runs: list[tuple[int, int]] = []
        at = sample.find(b"  ")
        while at != -1:
            middle = (first + at) * _STRIDE
            window = data[middle : middle + _STRIDE + 1]
            if window.translate(None, WHITESPACE):
                at = sample.find(b"  ", at + 1)
                continue
            run_start = middle
            while run_start > start and data[run_start - 1] in WHITESPACE:
                back = data[max(start, run_start - _STRIDE) : run_start]
                run_start -= len(back) - len(back.rstrip(WHITESPACE))
                if back.rstrip(WHITESPACE):
                    break
            run_end = middle
            while run_end < end:
                ahead = data[run_end : min(end, run_end + _STRIDE)]
                kept = ahead.lstrip(WHITESPACE)
                run_end += len(ahead) - len(kept)
                if kept:
                    break
            if run_end - run_start > KEEP:
                runs.append((run_start, run_end))
            at = sample.find(b"  ", -(-run_end // _STRIDE) - first)
        return runs

    def _end_run(self) -> bytes:
        """What is fed for the run that just ended, with the shift of positions it causes."""
        run = self._run
        assert run is not None
        self._run = None
        if run.length <= KEEP:
            out = run.head
        else:
            if not self._counting:
                self._start_counting(run.offset)
            if not run.newlines:
                out = run.head[:KEEP]
                self._cut(self._line, self._column + KEEP, run.length - KEEP)
            else:
                out = b"\n" + run.last_line
                self._shift(self._line + 1, run.newlines - 1)
                if run.last_length > len(run.last_line):
                    self._cut(self._line + 1, 0, run.last_length - len(run.last_line))
        self._note(out)
        return out

    def _start_counting(self, offset: int) -> None:
        """The first shortened run starts at ``offset``: until there, the fed text is the file,
        so its line and column are counted in the file (read again up to there)."""
        back = self._raw.tell()
        self._raw.seek(0)
        lines, column, left = 0, 0, offset
        while left:
            chunk = self._raw.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
            breaks = chunk.count(b"\n")
            lines += breaks
            column = len(chunk) - chunk.rfind(b"\n") - 1 if breaks else column + len(chunk)
        self._raw.seek(back)
        self._line, self._column, self._counting = 1 + lines, column, True

    def _shift(self, from_line: int, lines: int) -> None:
        if lines:
            total = (self._shift_total[-1] if self._shift_total else 0) + lines
            self._shift_lines.append(from_line)
            self._shift_total.append(total)

    def _cut(self, line: int, column: int, delta: int) -> None:
        self._cut_lines.append(line)
        self._cut_columns.append(column)
        self._cut_deltas.append(delta)

    def _note(self, out: bytes) -> None:
        """Advance the fed position over ``out`` (once a run has been shortened)."""
        if not self._counting:
            return
        breaks = out.count(b"\n")
        if breaks:
            self._line += breaks
            self._column = len(out) - out.rfind(b"\n") - 1
        else:
            self._column += len(out)

    def _count(self, out: bytes) -> None:
        self.fed += len(out)
        opened, closed = out.rfind(b"<"), out.rfind(b">")
        if opened > closed:
            self.open_tag = len(out) - opened
        elif closed != -1:
            self.open_tag = 0
        elif self.open_tag:
            self.open_tag += len(out)
