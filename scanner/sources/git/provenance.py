"""Where a secret entered the history: for the blobs that had findings, the commits that introduced them.

Started when planning ends (`GitHistorySource.scan_starting`: git writes to a temporary file while the
workers scan), read after the scan for the blobs with findings only, in ONE pass over the history:

    git log --all --reflog [dangling commits on stdin] -c --raw -z --no-renames
            --diff-filter=AMT --format=<sha, author, email, author date, committer time, summary>

Each raw entry whose new blob is wanted is a `Sighting` (commit, author, date, summary, path): the blob
was added at that path, or the path was changed to it, in that commit. Merges are shown as combined
diffs, so a merge is a sighting only when it introduced the content itself (conflict resolution, evil
merge), not for everything the merged branch brought (those are the branch's own commits). Renames are
off, so a renamed file is a second sighting of the same blob under its new path.

Sightings are ordered by committer time, ties broken by the position in the pass reversed (git log
lists newer commits first), so that sightings from different repositories (submodules) still
compare. No `--date-order`/`--topo-order`: they walk the whole graph before printing anything, and a
damaged history would then yield no sighting at all instead of those before the damage.
`at_head` comes from `git ls-tree -r HEAD`, `reachable` from the enumeration (rev-list over refs,
reflogs and the index).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO

from scanner.sources.git.objects import iter_raw_log, raw_log_arguments
from scanner.sources.git.repository import Repository
from scanner.sources.git.safety import GitFailed, first_line
from scanner.sources.interface import SourceError

_FIELD = b"\x1f"
PROVENANCE_FORMAT = "--format=%x01%H%x1f%an%x1f%ae%x1f%aI%x1f%ct%x1f%s"


@dataclass(frozen=True, slots=True)
class Sighting:
    """One commit that introduced a blob at a path.

    `date` is the author date (ISO 8601, as `git log` shows it); `committed_at` the committer time
    (Unix seconds) and `order` the position in the provenance pass (oldest first, parents before
    children): both only order sightings and take no part in comparisons.
    """

    commit: str
    author_name: str
    author_email: str
    date: str
    summary: str
    path: str
    committed_at: int = field(default=0, compare=False)
    order: int = field(default=0, compare=False)

    @property
    def author(self) -> str:
        return f"{self.author_name} <{self.author_email}>"


@dataclass(frozen=True, slots=True)
class BlobProvenance:
    """Where one blob came from. `first` is None when no commit holds it (a blob only ever staged,
    or written to the object database directly)."""

    blob_id: str
    first: Sighting | None
    later: tuple[Sighting, ...]
    at_head: bool
    reachable: bool

    @property
    def sightings(self) -> tuple[Sighting, ...]:
        return ((self.first,) if self.first else ()) + self.later


@dataclass(frozen=True, slots=True)
class SecretProvenance:
    """Where one secret (one fingerprint, possibly in many blobs) entered and where it still is.

    `only_in_history`: it is in no blob at HEAD and not in the working tree (it was removed, but the
    history still holds it). `only_unreachable`: every blob holding it is unreachable (a dropped commit,
    a dangling object): gone from every ref but still in the object database until gc prunes it.
    """

    first: Sighting | None
    later: tuple[Sighting, ...]
    at_head: bool
    in_working_tree: bool
    reachable: bool
    blob_ids: tuple[str, ...]

    @property
    def only_in_history(self) -> bool:
        return not self.at_head and not self.in_working_tree and self.reachable

    @property
    def only_unreachable(self) -> bool:
        return not self.reachable and not self.in_working_tree


def _sort_key(sighting: Sighting) -> tuple[int, int]:
    return (sighting.committed_at, sighting.order)


class HistoryLog:
    """The provenance pass over the whole history, into a temporary file (git never waits on us).
    `GitHistorySource.scan_starting` starts it when planning ends, before the findings are known, so
    that it runs beside the scan (git log holds ~130 MB on a 20,000-commit history: the workers are
    forked before planning to leave room for it, see `Source.expects_large_scan`)."""

    def __init__(self, repository: Repository, extra_commits: Iterable[str] = ()) -> None:
        self.repository = repository
        self._stdin = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._stdin.write("".join(f"{commit}\n" for commit in extra_commits).encode("ascii"))
        self._stdin.seek(0)
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._process = repository.git.popen(
            *raw_log_arguments(),
            "--all",
            "--reflog",
            "--stdin",
            PROVENANCE_FORMAT,
            stdin=self._stdin,
            stdout=self._stdout,
            stderr=self._stderr,
        )

    def finished(self) -> tuple[IO[bytes], str | None]:
        """Wait for git; the output (from its start) and, if git failed, why."""
        status = self._process.wait()
        self._stdout.seek(0)
        if status == 0:
            return self._stdout, None
        self._stderr.seek(0)
        return self._stdout, first_line(self._stderr.read(64 * 1024).decode("utf-8", "replace")) or (
            f"git exited with {status}"
        )

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for handle in (self._stdin, self._stdout, self._stderr):
            handle.close()


def trace(
    repository: Repository,
    blob_ids: Iterable[str],
    *,
    unreachable: Collection[str] = (),
    extra_commits: Iterable[str] = (),
    problems: list[str] | None = None,
    history: HistoryLog | None = None,
) -> dict[str, BlobProvenance]:
    """The provenance of each blob in `blob_ids`, from one pass over the whole history.

    `unreachable`: blob ids the enumeration found unreachable (their `reachable` is False).
    `extra_commits`: commits no ref or reflog reaches (dangling), walked too so that a blob that
    only exists in a dropped commit still gets its sighting.
    If git fails part-way (a damaged repository), the sightings read so far are kept and the failure
    is appended to `problems`; without a `problems` list it raises SourceError.
    `history`: the pass, already started (with the same `extra_commits`); closed here.
    """
    wanted = {oid.encode("ascii") for oid in blob_ids}
    if not wanted:
        if history is not None:
            history.close()
        return {}
    found: dict[str, list[Sighting]] = {}
    if history is None:
        history = HistoryLog(repository, extra_commits)
    try:
        output, failed = history.finished()
        position = 0
        for header, entries in iter_raw_log(output):
            position += 1
            hits = [(oid, path) for oid, path in entries if oid.encode("ascii") in wanted]
            if not hits:
                continue
            commit, name, email, date, committed, summary = _header(header)
            for oid, path in hits:
                found.setdefault(oid, []).append(
                    Sighting(commit, name, email, date, summary, os.fsdecode(path), committed, -position)
                )
    finally:
        history.close()
    if failed is not None:
        failure = f"reading the history of {repository.origin} for provenance failed part-way: {failed}."
        if problems is None:
            raise SourceError(failure)
        problems.append(failure)
    at_head = head_blobs(repository)
    result: dict[str, BlobProvenance] = {}
    for oid_bytes in wanted:
        oid = oid_bytes.decode("ascii")
        sightings = sorted(_unique(found.get(oid, ())), key=_sort_key)
        result[oid] = BlobProvenance(
            blob_id=oid,
            first=sightings[0] if sightings else None,
            later=tuple(sightings[1:]),
            at_head=oid_bytes in at_head,
            reachable=oid not in unreachable,
        )
    return result


def _unique(sightings: Iterable[Sighting]) -> list[Sighting]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for sighting in sightings:
        marker = (sighting.commit, sighting.path)
        if marker not in seen:
            seen.add(marker)
            unique.append(sighting)
    return unique


def _header(header: bytes) -> tuple[str, str, str, str, int, str]:
    parts = header.split(_FIELD, 5)
    parts += [b""] * (6 - len(parts))
    commit, name, email, date, committed, summary = (part.decode("utf-8", "replace") for part in parts)
    try:
        committed_at = int(committed)
    except ValueError:
        committed_at = 0
    return commit, name, email, date, committed_at, summary


def head_blobs(repository: Repository) -> set[bytes]:
    """Blob ids in HEAD's tree (empty for an unborn HEAD)."""
    try:
        out = repository.git.run("ls-tree", "-r", "-z", "--full-tree", "HEAD", what="listing HEAD")
    except GitFailed:
        return set()
    blobs = set()
    for entry in out.split(b"\0"):
        meta, _, _path = entry.partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) == 3 and parts[1] == b"blob":
            blobs.add(parts[2])
    return blobs


def combine(provenances: Iterable[BlobProvenance], *, in_working_tree: bool = False) -> SecretProvenance:
    """One secret found in several blobs: the earliest sighting across them is where it entered; it is
    at HEAD if any of its blobs is; reachable if any of its blobs is."""
    provenances = list(provenances)
    sightings = sorted(
        _unique(sighting for provenance in provenances for sighting in provenance.sightings), key=_sort_key
    )
    return SecretProvenance(
        first=sightings[0] if sightings else None,
        later=tuple(sightings[1:]),
        at_head=any(provenance.at_head for provenance in provenances),
        in_working_tree=in_working_tree,
        reachable=any(provenance.reachable for provenance in provenances),
        blob_ids=tuple(sorted({provenance.blob_id for provenance in provenances})),
    )


def combine_by_fingerprint(
    blobs_by_fingerprint: Mapping[str, Iterable[str]],
    provenances: Mapping[str, BlobProvenance],
    in_working_tree: Collection[str] = (),
) -> dict[str, SecretProvenance]:
    """`combine` for every fingerprint: `blobs_by_fingerprint` maps a fingerprint to the blob ids it was
    found in, `in_working_tree` holds the fingerprints also found in the working tree."""
    return {
        fingerprint: combine(
            (provenances[oid] for oid in oids if oid in provenances),
            in_working_tree=fingerprint in in_working_tree,
        )
        for fingerprint, oids in blobs_by_fingerprint.items()
    }
