"""Files and directories.

Planning walks the tree with `os.scandir` (no content reads) and groups regular files into work units
of a few megabytes. Symlinks are not followed by default and special files (FIFOs, devices, sockets)
are never opened (opening a FIFO would hang the scan); both are reported as skipped. `.git`
directories are left to the git history source.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from scanner.model import Blob, Location, Skipped, SkipReason, SourceKind
from scanner.sources.interface import (
    CHUNK_SIZE,
    Limits,
    Source,
    SourceError,
    WorkUnit,
    human_size,
    iter_chunks,
)

UNIT_BYTES = 4 * 1024 * 1024
UNIT_FILES = 512
SKIPPED_DIRECTORIES = frozenset({".git"})


@dataclass(frozen=True, slots=True)
class PlannedFile:
    path: str  # relative to the origin, POSIX separators
    absolute: str
    size: int


@dataclass(frozen=True, slots=True)
class FileBatch(WorkUnit):
    origin: str
    files: tuple[PlannedFile, ...]
    size: int
    count: int

    def read(self, limits: Limits) -> Iterator[Blob | Skipped]:
        for planned in self.files:
            yield from read_file(self.origin, planned, limits)

    def failed(self, reason: str) -> list[Skipped]:
        return [
            Skipped(Location(SourceKind.FILE, self.origin, planned.path), SkipReason.ERROR, reason)
            for planned in self.files
        ]


def read_file(origin: str, planned: PlannedFile, limits: Limits) -> Iterator[Blob | Skipped]:
    location = Location(SourceKind.FILE, origin, planned.path)
    try:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        descriptor = os.open(planned.absolute, flags)
    except OSError as exc:
        yield Skipped(location, SkipReason.UNREADABLE, f"cannot open the file: {exc.strerror or exc}.")
        return
    try:
        with os.fdopen(descriptor, "rb", buffering=0) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):  # replaced by something else since planning
                yield Skipped(location, SkipReason.NOT_REGULAR, "not a regular file when opened.")
                return
            if info.st_size > limits.max_file_size:
                yield _too_large(location, info.st_size, limits)
                return
            if info.st_size <= CHUNK_SIZE or _whole_archive(handle, info.st_size):
                data = _read_all(handle.read, info.st_size)
                yield Blob(location, data)
                return
            for first_line, first_column, chunk in iter_chunks(_bounded_reader(handle.read)):
                yield Blob(location, chunk, first_line=first_line, first_column=first_column)
    except OSError as exc:
        yield Skipped(location, SkipReason.UNREADABLE, f"reading failed: {exc.strerror or exc}.")


# An archive must reach the decoder whole (its directory is at the end): archives up to this size are
# read in one piece; larger ones are scanned in chunks as raw bytes.
WHOLE_ARCHIVE_LIMIT = 512 * 1024 * 1024


def _whole_archive(handle: BinaryIO, size: int) -> bool:
    """True for an archive small enough to read whole; leaves the file position at 0."""
    from scanner.decode.archives import sniff

    if size > WHOLE_ARCHIVE_LIMIT:
        return False
    head = os.pread(handle.fileno(), 512, 0)
    return sniff(head) is not None


def _read_all(read: Callable[[int], bytes], size: int) -> bytes:
    parts = []
    remaining = size + 1  # read to EOF even if the file grew a little
    while remaining > 0:
        block = read(min(remaining, CHUNK_SIZE))
        if not block:
            break
        parts.append(block)
        remaining -= len(block)
    return b"".join(parts)


def _bounded_reader(read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    def fill(size: int) -> bytes:
        parts = []
        wanted = size
        while wanted > 0:
            block = read(wanted)
            if not block:
                break
            parts.append(block)
            wanted -= len(block)
        return b"".join(parts)

    return fill


def _too_large(location: Location, size: int, limits: Limits) -> Skipped:
    return Skipped(
        location,
        SkipReason.TOO_LARGE,
        f"{human_size(size)} is over the {human_size(limits.max_file_size)} limit "
        "(raise it with --max-file-size).",
    )


class FileSource(Source):
    """One file or directory tree the user named."""

    def __init__(self, root: Path, exclude: Callable[[str], bool] | None = None) -> None:
        if str(root).startswith("-"):
            raise SourceError(f"refusing the path {str(root)!r}: it looks like an option.")
        if not root.exists() and not root.is_symlink():
            raise SourceError(f"{root} does not exist.")
        self.root = root
        self.exclude = exclude or (lambda _path: False)
        self.excluded = 0

    @property
    def description(self) -> str:
        return f"{'directory' if self.root.is_dir() else 'file'} {self.root}"

    @property
    def origin(self) -> str:
        return str(self.root)

    def plan(self, limits: Limits) -> Iterator[WorkUnit | Skipped]:
        batch: list[PlannedFile] = []
        batch_bytes = 0
        for item in self._walk(limits):
            if isinstance(item, Skipped):
                yield item
                continue
            batch.append(item)
            batch_bytes += min(item.size, limits.max_file_size)
            if batch_bytes >= UNIT_BYTES or len(batch) >= UNIT_FILES:
                yield FileBatch(self.origin, tuple(batch), batch_bytes, len(batch))
                batch, batch_bytes = [], 0
        if batch:
            yield FileBatch(self.origin, tuple(batch), batch_bytes, len(batch))

    def _walk(self, limits: Limits) -> Iterator[PlannedFile | Skipped]:
        root = self.root
        if not root.is_dir() or (root.is_symlink() and not limits.follow_symlinks):
            yield from self._single(root, root.name, limits)
            return
        stack = [(str(root), "")]
        while stack:
            directory, prefix = stack.pop()
            try:
                with os.scandir(directory) as entries:
                    listing = sorted(entries, key=lambda e: e.name)
            except OSError as exc:
                location = Location(SourceKind.FILE, self.origin, prefix.rstrip("/") or ".")
                yield Skipped(
                    location, SkipReason.UNREADABLE, f"cannot list the directory: {exc.strerror or exc}."
                )
                continue
            subdirectories = []
            for entry in listing:
                relative = f"{prefix}{entry.name}"
                location = Location(SourceKind.FILE, self.origin, relative)
                try:
                    if entry.is_symlink() and not limits.follow_symlinks:
                        yield Skipped(location, SkipReason.NOT_REGULAR, "a symbolic link (not followed).")
                        continue
                    if entry.is_dir():
                        if entry.name not in SKIPPED_DIRECTORIES and not self.exclude(relative + "/"):
                            subdirectories.append((entry.path, relative + "/"))
                        continue
                    info = entry.stat()
                except OSError as exc:
                    yield Skipped(location, SkipReason.UNREADABLE, f"cannot stat: {exc.strerror or exc}.")
                    continue
                if not stat.S_ISREG(info.st_mode):
                    yield Skipped(
                        location, SkipReason.NOT_REGULAR, f"a {_kind_of(info.st_mode)}, not a regular file."
                    )
                    continue
                if self.exclude(relative):
                    self.excluded += 1
                    continue
                if info.st_size > limits.max_file_size:
                    yield _too_large(location, info.st_size, limits)
                    continue
                yield PlannedFile(relative, entry.path, info.st_size)
            stack.extend(reversed(subdirectories))

    def _single(self, path: Path, name: str, limits: Limits) -> Iterator[PlannedFile | Skipped]:
        location = Location(SourceKind.FILE, str(path.parent) if str(path.parent) else ".", name)
        yield plan_path(path, str(path), location, limits)


def plan_path(path: Path, relative: str, location: Location, limits: Limits) -> PlannedFile | Skipped:
    """One named file: planned if it is a regular file within the size limit, else why it is skipped."""
    try:
        info = path.stat() if limits.follow_symlinks else path.lstat()
    except OSError as exc:
        return Skipped(location, SkipReason.UNREADABLE, f"cannot stat: {exc.strerror or exc}.")
    if not stat.S_ISREG(info.st_mode):
        return Skipped(location, SkipReason.NOT_REGULAR, f"a {_kind_of(info.st_mode)}, not a regular file.")
    if info.st_size > limits.max_file_size:
        return _too_large(location, info.st_size, limits)
    return PlannedFile(relative, str(path), info.st_size)


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return "special file"


class FileListSource(Source):
    """Named files under one root (the modified and untracked files of a git working tree)."""

    def __init__(self, root: Path, files: list[Path], label: str) -> None:
        self.root = root
        self.files = files
        self.label = label

    @property
    def description(self) -> str:
        return f"{self.label} ({len(self.files)} files)"

    def plan(self, limits: Limits) -> Iterator[WorkUnit | Skipped]:
        planned: list[PlannedFile] = []
        for path in self.files:
            relative = path.relative_to(self.root).as_posix() if path.is_absolute() else path.as_posix()
            location = Location(SourceKind.FILE, str(self.root), relative)
            item = plan_path(path, relative, location, limits)
            if isinstance(item, Skipped):
                yield item
            else:
                planned.append(item)
        for start in range(0, len(planned), UNIT_FILES):
            batch = tuple(planned[start : start + UNIT_FILES])
            yield FileBatch(str(self.root), batch, sum(p.size for p in batch), len(batch))
