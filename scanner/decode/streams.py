"""Bounded byte streams: every decompressed byte is counted, and no read can outgrow its limits.

A `Reader` has one method, `read(n)`, returning between 1 and n bytes, or b"" at the end. Readers stack
(a zip member's deflate stream feeding a gzip stream feeding tar). When a limit is met or the data is
damaged, a reader first returns what it has already produced and raises `DecodeProblem` on the next read,
so that everything read before the problem is still scanned. The problem object is shared by every
reader above, and `reported` makes sure the person sees it once.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

from scanner.model import SkipReason
from scanner.sources.interface import CHUNK_SIZE, iter_chunks

# Compressed bytes fed to a decompressor per step; the expansion ratio is checked against what was fed.
INPUT_STEP = 32 * 1024
# Most bytes one decompressor call may produce (a read of more is served in several calls).
OUTPUT_STEP = 1024 * 1024
# The expansion ratio is only enforced past this many output bytes: a tiny file of repeated lines
# legitimately compresses more than any sane ratio, a bomb does not stay under a megabyte.
RATIO_FLOOR = 1024 * 1024
# The most memory an xz/lzma stream may ask for (its dictionary): xz -9 needs 64 MiB.
LZMA_MEMORY_LIMIT = 128 * 1024 * 1024


class DecodeProblem(Exception):
    """A limit or damaged data met while decoding. Becomes one Skipped where it is caught."""

    def __init__(self, reason: SkipReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.reported = False


class Reader(Protocol):
    def read(self, n: int, /) -> bytes: ...


def human(size: int) -> str:
    """Bytes for people: exact below a kilobyte, one decimal above."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


class Budget:
    """Expanded bytes left for one top-level blob (all nesting levels together)."""

    def __init__(self, limit: int, where: str) -> None:
        self.limit = limit
        self.left = limit
        self.where = where
        self.problem: DecodeProblem | None = None

    def exhausted(self) -> DecodeProblem:
        if self.problem is None:
            self.problem = DecodeProblem(
                SkipReason.ARCHIVE_LIMIT,
                f"expanding {self.where} reached the limit of {human(self.limit)} of decompressed data "
                "(max_expanded_bytes); the rest of it was not scanned.",
            )
        return self.problem

    def take(self, n: int) -> None:
        self.left -= n


class MemReader:
    """Reads an in-memory buffer; counts nothing (the bytes already exist)."""

    def __init__(self, data: bytes | memoryview) -> None:
        self._view = memoryview(data)
        self._position = 0

    def read(self, n: int) -> bytes:
        start = self._position
        self._position = min(start + n, len(self._view))
        return bytes(self._view[start : self._position])


class CountingReader:
    """Charges a reader's bytes to the budget (stored zip members) and checks their length and CRC-32."""

    def __init__(self, source: Reader, budget: Budget, crc: int | None, what: str, expected: int) -> None:
        self._source = source
        self._budget = budget
        self._crc_expected = crc
        self._crc = 0
        self._what = what
        self._expected = expected
        self._got = 0
        self._done = False

    def read(self, n: int) -> bytes:
        if self._done:
            return b""
        if self._budget.problem is not None:
            raise self._budget.problem
        if self._budget.left <= 0:
            raise self._budget.exhausted()
        data = self._source.read(min(n, self._budget.left))
        self._budget.take(len(data))
        self._got += len(data)
        if data:
            if self._crc_expected is not None:
                self._crc = zlib.crc32(data, self._crc)
            return data
        self._done = True
        if self._got < self._expected:
            raise DecodeProblem(
                SkipReason.BROKEN_ARCHIVE,
                f"{self._what} ends early: {human(self._got)} of {human(self._expected)} are present "
                "(truncated).",
            )
        if self._crc_expected is not None and self._crc != self._crc_expected:
            raise DecodeProblem(SkipReason.BROKEN_ARCHIVE, f"{self._what} fails its CRC-32 check (damaged).")
        return b""


def _new_decompressor(kind: str) -> object:
    if kind == "gzip":
        return zlib.decompressobj(31)
    if kind == "deflate":
        return zlib.decompressobj(-15)
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_AUTO, memlimit=LZMA_MEMORY_LIMIT)
    if kind == "lzma":
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE, memlimit=LZMA_MEMORY_LIMIT)
    raise ValueError(kind)


MULTISTREAM_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00"}


class DecompressingReader:
    """Decompresses `source` step by step, never producing more than asked, the budget or the ratio allow.

    `make` builds a fresh decompressor object (zlib, bz2 or lzma API); `multistream` continues with
    concatenated streams (gzip, bzip2, xz files may hold several). `size` and `crc`, when known (zip
    members), are checked: more output than declared or a wrong CRC-32 is damage.
    """

    def __init__(
        self,
        source: Reader,
        kind: str,
        budget: Budget,
        ratio: int,
        what: str,
        *,
        make: Callable[[], object] | None = None,
        multistream: bool = False,
        size: int | None = None,
        crc: int | None = None,
    ) -> None:
        self._source = source
        self._kind = kind
        self._make = make or (lambda: _new_decompressor(kind))
        self._dec: object = self._make()
        self._zlib = kind in ("gzip", "deflate")
        self._budget = budget
        self._ratio = ratio
        self._what = what
        self._multistream = multistream
        self._size = size
        self._crc_expected = crc
        self._crc = 0
        self._tail = b""
        self._need_input = True
        self.fed = 0
        self.produced = 0
        self._pending: DecodeProblem | None = None
        self._finished = False

    @property
    def consumed(self) -> int:
        """Compressed bytes used so far (exact for zlib, to within one input step otherwise)."""
        return self.fed - len(self._tail) - len(getattr(self._dec, "unused_data", b""))

    def read(self, n: int) -> bytes:
        if self._pending is not None:
            raise self._pending
        if self._finished:
            return b""
        while True:
            dec = self._dec
            if dec.eof:  # type: ignore[attr-defined]
                if self._next_stream():
                    continue
                self._finish()
                if self._pending is not None:  # raised now: a caller may not read again after b""
                    raise self._pending
                return b""
            if self._budget.problem is not None:
                raise self._budget.problem
            want = min(n, OUTPUT_STEP, self._budget.left)
            if self._size is not None:
                want = min(want, self._size - self.produced + 1)
            if want <= 0:
                raise self._budget.exhausted()
            if not self._tail and self._need_input:
                chunk = self._source.read(INPUT_STEP)
                if not chunk:
                    raise self._stash(
                        DecodeProblem(SkipReason.BROKEN_ARCHIVE, f"{self._what} ends early (truncated).")
                    )
                self.fed += len(chunk)
                self._tail = chunk
            try:
                out = dec.decompress(self._tail, want)  # type: ignore[attr-defined]
            except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
                raise self._stash(
                    DecodeProblem(SkipReason.BROKEN_ARCHIVE, f"{self._what} is damaged: {exc}.")
                ) from None
            if self._zlib:
                self._tail = dec.unconsumed_tail  # type: ignore[attr-defined]
                self._need_input = len(out) < want
            else:
                self._tail = b""
                self._need_input = dec.needs_input  # type: ignore[attr-defined]
            if out:
                self._account(out)
                return out

    def _stash(self, problem: DecodeProblem) -> DecodeProblem:
        self._pending = problem
        return problem

    def _account(self, out: bytes) -> None:
        self.produced += len(out)
        self._budget.take(len(out))
        if self._crc_expected is not None:
            self._crc = zlib.crc32(out, self._crc)
        if self._size is not None and self.produced > self._size:
            self._pending = DecodeProblem(
                SkipReason.BROKEN_ARCHIVE,
                f"{self._what} holds more than the {human(self._size)} its header declares "
                "(damaged or forged).",
            )
        elif self.produced > self._ratio * self.consumed + RATIO_FLOOR:
            self._pending = DecodeProblem(
                SkipReason.ARCHIVE_LIMIT,
                f"{self._what} expands more than {self._ratio} times ({human(self.produced)} from "
                f"{human(max(self.consumed, 1))} compressed, max_expansion_ratio {self._ratio}); "
                f"only its first {human(self.produced)} were scanned.",
            )

    def _next_stream(self) -> bool:
        """After the end of one stream: start the next concatenated one, if any."""
        if not self._multistream:
            return False
        rest = bytes(getattr(self._dec, "unused_data", b"")) + self._tail
        while len(rest) < 8:
            more = self._source.read(INPUT_STEP)
            if not more:
                break
            self.fed += len(more)
            rest += more
        if not rest or not rest.startswith(MULTISTREAM_MAGIC.get(self._kind, b"\x00\x00\x00\x00")):
            return False  # trailing padding or garbage after the last stream is ignored, like gzip -d
        self._dec = self._make()
        self._tail = rest
        self._need_input = False
        return True

    def _finish(self) -> None:
        self._finished = True
        if self._size is not None and self.produced != self._size:
            self._pending = DecodeProblem(
                SkipReason.BROKEN_ARCHIVE,
                f"{self._what} holds {human(self.produced)} where its header declares "
                f"{human(self._size)} (damaged).",
            )
        elif self._crc_expected is not None and self._crc != self._crc_expected:
            self._pending = DecodeProblem(
                SkipReason.BROKEN_ARCHIVE, f"{self._what} fails its CRC-32 check (damaged)."
            )


class Peekable:
    """A reader whose first bytes can be looked at (to sniff magic numbers) before reading."""

    def __init__(self, source: Reader) -> None:
        self._source = source
        self._head = b""
        self._pending: Exception | None = None

    def peek(self, n: int) -> bytes:
        while len(self._head) < n and self._pending is None:
            try:
                more = self._source.read(n - len(self._head))
            except Exception as exc:  # kept for the next read, after the bytes already peeked
                self._pending = exc
                break
            if not more:
                break
            self._head += more
        return self._head[:n]

    def read(self, n: int) -> bytes:
        if self._head:
            out, self._head = self._head[:n], self._head[n:]
            return out
        if self._pending is not None:
            raise self._pending
        return self._source.read(n)


class Filler:
    """`read(n)` filling up to n bytes from a reader of short reads; a failure waits for the next call."""

    def __init__(self, source: Reader) -> None:
        self._source = source
        self._pending: Exception | None = None

    def __call__(self, n: int) -> bytes:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            raise pending
        parts: list[bytes] = []
        got = 0
        while got < n:
            try:
                block = self._source.read(n - got)
            except Exception as exc:
                if not parts:
                    raise
                self._pending = exc
                break
            if not block:
                break
            parts.append(block)
            got += len(block)
        return b"".join(parts)


def read_all(source: Reader) -> tuple[bytes, Exception | None]:
    """Everything a reader gives (bounded by its budget) and the failure that ended it early, if any."""
    parts: list[bytes] = []
    try:
        while block := source.read(CHUNK_SIZE):
            parts.append(block)
    except Exception as exc:
        return b"".join(parts), exc
    return b"".join(parts), None


def chunks(source: Reader) -> Iterator[tuple[int, int, bytes]]:
    """(first_line, first_column, chunk) of a stream in overlapping chunks; a failure is raised last."""
    return iter_chunks(Filler(source))
