"""Work units of blobs: each one `git cat-file --batch` process, every blob read once, streamed.

A unit is a run of consecutive blobs in pack order (so git's delta base cache is warm), about
UNIT_BYTES of content or UNIT_BLOBS blobs, whichever comes first, so that two or more workers always
have units to take. `read()` starts one cat-file process for the unit, hands it the object ids through
a temporary file (no writer thread, no pipe deadlock), and parses the `<oid> <type> <size>\\n<data>\\n`
stream: blobs up to CHUNK_SIZE are read whole, larger ones are yielded in overlapping chunks straight
from the pipe (`iter_chunks`), never held whole. If git dies part-way (a corrupt pack), the blob it
was on is reported and a new process reads the rest: everything readable is read.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from scanner.model import Blob, Location, Skipped, SkipReason, SourceKind
from scanner.sources.git.objects import PlannedBlob
from scanner.sources.git.safety import READER_CONFIG, Git, first_line
from scanner.sources.interface import CHUNK_SIZE, Limits, SourceError, WorkUnit, human_size, iter_chunks

UNIT_BYTES = 24 * 1024 * 1024  # default; see unit_bytes_for
UNIT_BYTES_MIN = 8 * 1024 * 1024
UNIT_BYTES_MAX = 64 * 1024 * 1024
UNITS_WANTED = 32  # enough for the largest-first scheduling to keep 2-8 workers busy to the end
UNIT_BLOBS = 4096
PIPE_BUFFER = 1 << 20

LFS_POINTER_PREFIXES = (
    b"version https://git-lfs.github.com/spec/v1",
    b"version https://hawser.github.com/spec/v1",
)
LFS_POINTER_MAX = 1024  # the LFS specification caps pointer files below 1024 bytes
_LFS_OID = re.compile(rb"^oid sha256:([0-9a-f]{64})\s*$", re.MULTILINE)
_LFS_SIZE = re.compile(rb"^size (\d+)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class GitBlobBatch(WorkUnit):
    """Consecutive blobs of one repository, read by one `git cat-file --batch`."""

    git: Git
    origin: str
    blobs: tuple[PlannedBlob, ...]
    size: int
    count: int

    def read(self, limits: Limits) -> Iterator[Blob | Skipped]:
        yield from read_blobs(self.git, self.origin, self.blobs, limits)

    def failed(self, reason: str) -> list[Skipped]:
        return [Skipped(location(self.origin, blob), SkipReason.ERROR, reason) for blob in self.blobs]


def location(origin: str, blob: PlannedBlob) -> Location:
    return Location(SourceKind.GIT, origin, blob.path, commit=blob.commit, blob_id=blob.oid)


def unit_bytes_for(total: int) -> int:
    """Unit size for a repository of `total` blob bytes: about UNITS_WANTED units, 8 to 64 MB each.

    Each unit is a cat-file process that starts cold (its heap and delta cache fill again: about
    15-30 ms of CPU), so big repositories get big units; small ones still get several units.
    """
    return max(UNIT_BYTES_MIN, min(UNIT_BYTES_MAX, total // UNITS_WANTED))


def batch_units(
    git: Git,
    origin: str,
    blobs: Sequence[PlannedBlob],
    unit_bytes: int = UNIT_BYTES,
    unit_blobs: int = UNIT_BLOBS,
    delta_bases: Mapping[str, str] | None = None,
) -> Iterator[GitBlobBatch]:
    """Cut `blobs` (kept in their order) into units of about `unit_bytes` or `unit_blobs`.

    With `delta_bases` (blob -> the blob it is stored as a delta of), a unit that is full still takes
    the blobs that are deltas of blobs it holds (up to 4 times the size): each unit is its own
    cat-file process with a cold delta cache, and cutting a delta chain makes the next process rebuild
    the chain from its start (quadratic for the versions of a big file).
    """
    bases = delta_bases or {}
    batch: list[PlannedBlob] = []
    held: set[str] = set()
    batch_bytes = 0
    for blob in blobs:
        if batch and (batch_bytes + blob.size > unit_bytes or len(batch) >= unit_blobs):
            continues_chain = bases.get(blob.oid) in held
            hard_limit = batch_bytes + blob.size > 4 * unit_bytes or len(batch) >= 2 * unit_blobs
            if hard_limit or not continues_chain:
                yield GitBlobBatch(git, origin, tuple(batch), batch_bytes, len(batch))
                batch, batch_bytes = [], 0
                held.clear()
        batch.append(blob)
        held.add(blob.oid)
        batch_bytes += blob.size
    if batch:
        yield GitBlobBatch(git, origin, tuple(batch), batch_bytes, len(batch))


def too_large(origin: str, blob: PlannedBlob, limits: Limits) -> Skipped:
    return Skipped(
        location(origin, blob),
        SkipReason.TOO_LARGE,
        f"{human_size(blob.size)} is over the {human_size(limits.max_file_size)} limit "
        "(raise it with --max-file-size).",
    )


def read_blobs(
    git: Git, origin: str, blobs: Sequence[PlannedBlob], limits: Limits
) -> Iterator[Blob | Skipped]:
    """Read `blobs` with as few cat-file processes as possible (one unless git fails part-way)."""
    todo: list[PlannedBlob] = []
    for blob in blobs:
        if blob.size > limits.max_file_size:
            yield too_large(origin, blob, limits)
        else:
            todo.append(blob)
    start = 0
    while start < len(todo):
        reader = _CatFile(git, origin, todo[start:])
        try:
            yield from reader.read_all()
        except SourceError as exc:  # git could not even be started
            for blob in todo[start:]:
                yield Skipped(location(origin, blob), SkipReason.ERROR, str(exc))
            return
        finally:
            reader.close()
        start += reader.done
        if reader.failure is not None:
            yield reader.failure
            start += 1


class _ReadFailed(Exception):
    pass


class _CatFile:
    """One `git cat-file --batch` over some blobs. `done` counts the blobs fully handled; after a
    failure, `failure` is the Skipped for the blob it stopped on."""

    def __init__(self, git: Git, origin: str, blobs: Sequence[PlannedBlob]) -> None:
        self.git = git
        self.origin = origin
        self.blobs = blobs
        self.done = 0
        self.failure: Skipped | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stdin: IO[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def _start(self) -> IO[bytes]:
        self._stdin = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._stdin.write("".join(f"{blob.oid}\n" for blob in self.blobs).encode("ascii"))
        self._stdin.seek(0)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._process = self.git.popen(
            "cat-file",
            "--batch",
            "--buffer",
            stdin=self._stdin,
            stderr=self._stderr,
            config=READER_CONFIG,
            bufsize=PIPE_BUFFER,
        )
        assert self._process.stdout is not None
        return self._process.stdout

    def read_all(self) -> Iterator[Blob | Skipped]:
        stdout = self._start()
        for blob in self.blobs:
            try:
                yield from self._read_one(stdout, blob)
            except (_ReadFailed, OSError, ValueError) as exc:
                self.failure = Skipped(
                    location(self.origin, blob), SkipReason.UNREADABLE, self._explain(str(exc))
                )
                return
            self.done += 1

    def _read_one(self, stdout: IO[bytes], blob: PlannedBlob) -> Iterator[Blob | Skipped]:
        header = stdout.readline()
        if not header.endswith(b"\n"):
            raise _ReadFailed("git stopped before this object")
        parts = header.split()
        where = location(self.origin, blob)
        if len(parts) == 2 and parts[1] == b"missing":
            yield Skipped(
                where, SkipReason.MISSING_OBJECT, f"object {blob.oid} is missing; it was not scanned."
            )
            return
        if len(parts) != 3 or parts[0].decode("ascii", "replace") != blob.oid:
            raise _ReadFailed(f"unexpected answer from git: {header[:200]!r}")
        kind, size = parts[1], int(parts[2])
        if kind != b"blob":
            _discard(stdout, size + 1)
            yield Skipped(where, SkipReason.ERROR, f"object {blob.oid} is a {kind.decode()}, not a blob.")
            return
        if size <= CHUNK_SIZE:
            data = stdout.read(size)
            if len(data) != size or stdout.read(1) != b"\n":
                raise _ReadFailed(f"git stopped after {len(data)} of {size} bytes")
            pointer = lfs_pointer(data)
            if pointer is not None:
                yield Skipped(where, SkipReason.LFS_POINTER, pointer)
                return
            yield Blob(where, data)
            return
        remaining = size

        def bounded(wanted: int) -> bytes:
            nonlocal remaining
            if remaining <= 0:
                return b""
            block = stdout.read(min(wanted, remaining))
            remaining -= len(block)
            return block

        for first_line_number, first_column, chunk in iter_chunks(bounded):
            yield Blob(where, chunk, first_line=first_line_number, first_column=first_column)
        if remaining > 0 or stdout.read(1) != b"\n":
            raise _ReadFailed(
                f"git stopped after {size - remaining} of {size} bytes (the part read was scanned)"
            )

    def _explain(self, what: str) -> str:
        reason = ""
        if self._process is not None:
            self._kill()
            if self._stderr is not None:
                self._stderr.seek(0)
                reason = first_line(self._stderr.read(64 * 1024).decode("utf-8", "replace"))
        return f"reading the object failed: {what}" + (f" ({reason})" if reason else "") + "."

    def _kill(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()

    def close(self) -> None:
        process = self._process
        if process is not None:
            if process.stdout is not None:
                process.stdout.close()
            # everything asked for was read: git is exiting at the end of its input (a blocking wait,
            # not subprocess's polling one); else stop it
            if self.done < len(self.blobs) and process.poll() is None:
                process.kill()
            process.wait()
        for handle in (self._stdin, self._stderr):
            if handle is not None:
                handle.close()


def _discard(stream: IO[bytes], size: int) -> None:
    while size > 0:
        block = stream.read(min(size, CHUNK_SIZE))
        if not block:
            return
        size -= len(block)


def lfs_pointer(data: bytes) -> str | None:
    """If `data` is a Git LFS pointer file, the Skipped detail for it (the pointer itself is not scanned)."""
    if len(data) >= LFS_POINTER_MAX or not data.startswith(LFS_POINTER_PREFIXES):
        return None
    oid = _LFS_OID.search(data)
    size = _LFS_SIZE.search(data)
    what = f"object sha256:{oid.group(1).decode()}" if oid else "an object"
    of = f" of {int(size.group(1))} bytes" if size else ""
    return f"a Git LFS pointer: {what}{of} is in LFS storage, not in git; scan the LFS store separately."
