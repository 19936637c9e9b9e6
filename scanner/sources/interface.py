"""The source interface: plan cheaply in the parent process, read in the workers.

A `Source` enumerates `WorkUnit`s (and `Skipped` inputs it can already tell are unscannable).
A `WorkUnit` is a small picklable value (paths, object ids) whose `read()` runs in a worker process
(later a Dask worker) and yields `Blob`s and `Skipped`s. Sources never know about rules, findings or
reports; the engine never knows where bytes came from. New sources (git history, container images,
AMIs, remote repositories) plug in here without touching the engine or the pipeline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from scanner.model import Blob, Skipped

# A file (or git blob) larger than this is read in chunks of CHUNK_SIZE overlapping by CHUNK_OVERLAP
# bytes, so memory stays bounded and a secret across a chunk boundary is still found whole.
CHUNK_SIZE = 8 * 1024 * 1024
CHUNK_OVERLAP = 8 * 1024


def human_size(size: float) -> str:
    """`4.9 KB`, `2.0 GB`: sizes in Skipped details."""
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


class SourceError(Exception):
    """The source cannot be scanned at all (missing path, not a repository...). Full sentence."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds every source honours. A value over a limit becomes a Skipped with the reason."""

    max_file_size: int = 2 * 1024**3
    max_archive_depth: int = 4
    max_archive_members: int = 10_000
    max_expanded_bytes: int = 256 * 1024**2
    max_expansion_ratio: int = 200
    decode_base64: bool = True
    follow_symlinks: bool = False


class WorkUnit(ABC):
    """A picklable batch of work. `size` is in bytes (for progress), `count` in blobs."""

    size: int
    count: int

    @abstractmethod
    def read(self, limits: Limits) -> Iterator[Blob | Skipped]:
        """Yield the blobs of this unit; failures become Skipped values, never exceptions."""

    @abstractmethod
    def failed(self, reason: str) -> list[Skipped]:
        """What to report for this unit's blobs if reading or scanning it failed as a whole."""


class Source(ABC):
    """Something the user asked to scan."""

    @property
    @abstractmethod
    def description(self) -> str:
        """What is scanned, for people (`directory ./src`, `git repository ./repo (all refs)`)."""

    @abstractmethod
    def plan(self, limits: Limits) -> Iterator[WorkUnit | Skipped]:
        """Enumerate the work cheaply (no content reads beyond what is needed to plan)."""

    def expects_large_scan(self) -> bool:
        """A cheap guess, before planning, that the scan will need the worker pool: the pipeline then
        starts the workers while this source plans (they fork from a smaller process, sooner)."""
        return False

    def scan_starting(self) -> None:
        """Planning is over and the scan begins: start work needed after the scan (a git history's
        provenance pass), to run beside it. Released by `close`."""
        return None

    def close(self) -> None:
        """Release whatever `scan_starting` started and the scan did not use."""
        return None


def iter_chunks(read: Callable[[int], bytes]) -> Iterator[tuple[int, int, bytes]]:
    """Read a stream through `read(n)` in chunks that overlap by CHUNK_OVERLAP bytes.

    Yields (first_line, first_column, chunk): where the chunk's first byte stands, so findings keep
    true positions. A match inside an overlap is seen twice; de-duplication by fingerprint and
    position keeps one.
    """
    first_line, first_column = 1, 1
    carry = b""
    while True:
        block = read(CHUNK_SIZE)
        if not block:
            return
        chunk = carry + block
        yield first_line, first_column, chunk
        carry_start = len(chunk) - CHUNK_OVERLAP if len(chunk) > CHUNK_OVERLAP else 0
        carry = chunk[carry_start:]
        newlines = chunk.count(b"\n", 0, carry_start)
        if newlines:
            first_line += newlines
            first_column = carry_start - chunk.rfind(b"\n", 0, carry_start)
        else:
            first_column += carry_start
