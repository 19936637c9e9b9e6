"""What is about to leave the machine: the staged blobs (`--staged`) and the commits of a push (`--pre-push`).

Both read git through `safety.Git` only (no hook, filter, fsmonitor or textconv of the repository runs)
and plan the same `GitBlobBatch` units as history scans, so reading and matching happen in the usual
workers (or in-process for a handful of blobs).

- `StagedSource`: the index against HEAD (or against the empty tree before the first commit): every
  added or modified blob with its path, no commit (it does not exist yet).
- `PushSource`: git's pre-push stdin lines `<local ref> <local sha> <remote ref> <remote sha>`.
  An update scans `remote..local`; a new branch (remote sha all zeros) scans what no remote-tracking
  ref already has; a deletion (local sha all zeros) scans nothing. A remote sha we do not have
  (someone else pushed) is treated like a new branch, with a note.
"""

from __future__ import annotations

import os
import re
import tempfile
from abc import abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from scanner.model import Skipped
from scanner.sources.git.objects import (
    LOG_FORMAT,
    PlannedBlob,
    _stderr_text,
    iter_raw_log,
    object_sizes,
    raw_log_arguments,
)
from scanner.sources.git.repository import Repository, discover
from scanner.sources.git.safety import GitFailed, first_line
from scanner.sources.git.units import batch_units, too_large
from scanner.sources.interface import Limits, Source, SourceError, WorkUnit

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


class _PlannedBlobsSource(Source):
    """Scan a fixed list of blobs of one repository."""

    repository: Repository

    def __init__(self) -> None:
        self.notes: list[str] = []

    @abstractmethod
    def blobs(self) -> list[PlannedBlob]:
        """The blobs to scan, with the paths (and commits) they stand at."""

    def plan(self, limits: Limits) -> Iterator[WorkUnit | Skipped]:
        readable: list[PlannedBlob] = []
        for blob in self.blobs():
            if blob.size > limits.max_file_size:
                yield too_large(self.repository.origin, blob, limits)
            elif blob.size:
                readable.append(blob)
        yield from batch_units(self.repository.git, self.repository.origin, readable)


class StagedSource(_PlannedBlobsSource):
    """The blobs staged in the index that differ from HEAD."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.repository = discover(path)
        if self.repository.work_tree is None:
            raise SourceError(f"{self.repository.origin} is a bare repository: it has no index to scan.")

    @property
    def description(self) -> str:
        return f"staged changes of {self.repository.origin}"

    def blobs(self) -> list[PlannedBlob]:
        git = self.repository.git
        try:
            git.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", what="finding HEAD")
            base = "HEAD"
        except GitFailed:
            base = EMPTY_TREE  # before the first commit everything staged is new
        out = git.run(
            "diff-index",
            "--cached",
            "--raw",
            "-z",
            "--no-renames",
            "--no-abbrev",
            "--no-ext-diff",
            "--no-textconv",
            "--diff-filter=AMT",
            "--end-of-options",
            base,
            what="listing the staged changes",
        )
        entries = list(_raw_entries(out))
        sizes = object_sizes(self.repository, [oid for oid, _ in entries])
        return [PlannedBlob(oid, sizes[oid], path) for oid, path in entries if oid in sizes]


def _raw_entries(out: bytes) -> Iterator[tuple[str, str]]:
    """(new blob id, path) of `--raw -z` output: `:m1 m2 o1 o2 S\\0path\\0`."""
    tokens = out.split(b"\0")
    for meta, raw_path in zip(tokens[::2], tokens[1::2], strict=False):
        fields = meta.lstrip(b":").split()
        if len(fields) < 5:
            continue
        mode, oid = fields[1], fields[3].decode("ascii")
        if mode in (b"000000", b"160000") or not _SHA.match(oid) or not oid.strip("0"):
            continue
        yield oid, os.fsdecode(raw_path)


@dataclass(frozen=True)
class PushUpdate:
    """One line of git's pre-push stdin."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @property
    def deletion(self) -> bool:
        return not self.local_sha.strip("0")

    @property
    def new_branch(self) -> bool:
        return not self.remote_sha.strip("0")


def parse_push_lines(lines: Iterable[str]) -> list[PushUpdate]:
    """Parse pre-push stdin; a malformed line is a SourceError naming it."""
    updates: list[PushUpdate] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 4 or not _SHA.match(parts[1]) or not _SHA.match(parts[3]):
            raise SourceError(
                f"pre-push input line {number} is not `<local ref> <local sha> <remote ref> <remote sha>`: "
                f"{line.strip()!r}."
            )
        updates.append(PushUpdate(*parts))
    return updates


class PushSource(_PlannedBlobsSource):
    """The blobs introduced by the commits a `git push` is about to send."""

    def __init__(self, path: str | os.PathLike[str], updates: Iterable[PushUpdate]) -> None:
        super().__init__()
        self.repository = discover(path)
        self.updates = list(updates)

    @property
    def description(self) -> str:
        return f"commits pushed from {self.repository.origin}"

    def _known(self, sha: str) -> bool:
        try:
            self.repository.git.run("cat-file", "-e", f"{sha}^{{commit}}", what="checking a commit")
        except GitFailed:
            return False
        return True

    def _remote_tips(self) -> list[str]:
        out = self.repository.git.run(
            "for-each-ref", "--format=%(objectname)", "refs/remotes", what="listing remote-tracking refs"
        )
        return sorted({line for line in out.decode("ascii", "replace").split() if _SHA.match(line)})

    def blobs(self) -> list[PlannedBlob]:
        found: dict[str, tuple[str, str]] = {}
        order: list[str] = []
        for update in self.updates:
            if update.deletion:
                self.notes.append(f"pre-push: {update.remote_ref} is deleted; nothing to scan for it.")
                continue
            if not update.new_branch and self._known(update.remote_sha):
                excludes = [update.remote_sha]
            else:
                if not update.new_branch:
                    self.notes.append(
                        f"pre-push: {update.remote_ref} is at {update.remote_sha[:12]} on the remote, "
                        "a commit not here; scanning every commit no remote-tracking ref has."
                    )
                excludes = self._remote_tips()
            for oid, commit, path in self._introduced(update.local_sha, excludes):
                if oid not in found:
                    found[oid] = (commit, path)
                    order.append(oid)
        sizes = object_sizes(self.repository, order)
        return [PlannedBlob(oid, sizes[oid], found[oid][1], found[oid][0]) for oid in order if oid in sizes]

    def _introduced(self, include: str, excludes: list[str]) -> Iterator[tuple[str, str, str]]:
        with tempfile.TemporaryFile() as errors:
            process = self.repository.git.popen(
                *raw_log_arguments(),
                "--reverse",
                "--topo-order",
                LOG_FORMAT,
                "--end-of-options",
                include,
                *(f"^{sha}" for sha in excludes),
                stderr=errors,
            )
            assert process.stdout is not None
            with process.stdout:
                for header, entries in iter_raw_log(process.stdout):
                    commit = header.decode("ascii", "replace")
                    for oid, raw_path in entries:
                        yield oid, commit, os.fsdecode(raw_path)
            if process.wait() != 0:
                raise SourceError(
                    f"listing the pushed commits of {include[:12]} failed: "
                    f"{first_line(_stderr_text(errors)) or f'git exited with {process.returncode}'}."
                )
