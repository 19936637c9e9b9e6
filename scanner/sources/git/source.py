"""`GitHistorySource`: every unique blob of a repository (and of its submodules), read once.

Planning runs in the parent process: discovery, one object listing and one history walk per
repository (`objects.enumerate_objects`), then the blobs are cut into units. Reading and matching
happen in the workers. `scan_starting()` starts one history pass per repository beside them; after the
scan, `provenance()` reads from it, for the blobs that had findings only, where each came from.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path

from scanner.model import Location, Skipped
from scanner.sources.git import packed
from scanner.sources.git.objects import (
    Inventory,
    RangeSpec,
    enumerate_objects,
    introduced_in,
    resolve_commit,
    shallow_note,
)
from scanner.sources.git.pack import pack_files
from scanner.sources.git.provenance import BlobProvenance, HistoryLog, trace
from scanner.sources.git.repository import Repository, discover, find_submodules
from scanner.sources.git.units import too_large
from scanner.sources.git.worktree import working_tree_changes
from scanner.sources.interface import Limits, Source, SourceError, WorkUnit

# Packs above this size (compressed) make a history scan large enough for the worker pool.
LARGE_PACK_BYTES = 8 * 1024 * 1024


class GitHistorySource(Source):
    """A git repository's history: all refs, reflogs, the index and (by default) unreachable objects.

    - `history=False`: plan nothing (the caller scans the working tree as files).
    - `range`/`since`: only the blobs the commits `A..B` (or `REF..HEAD`) introduced, each located at
      its commit and path; submodules are not followed in that mode.
    - `exclude_oids`: repository key -> blob ids already scanned (incremental scans): not planned.
    - `include_unreachable`: also blobs no ref, reflog or index entry reaches.
    After `plan()`, `planned_oids` maps each repository key to the blob ids this scan covered (read,
    or empty; not the missing ones nor those over the size limit).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        origin: str | None = None,
        history: bool = True,
        range: str | None = None,
        since: str | None = None,
        exclude_oids: Mapping[str, Collection[str]] | None = None,
        include_unreachable: bool = True,
        submodules: bool = True,
        repository: Repository | None = None,
        resolved: tuple[str, str] | None = None,
    ) -> None:
        """`repository`: the repository at `path`, already discovered by the caller; `resolved`: the
        range's two commits (exclude, include), already resolved by the caller (the job resolves them
        once to read the settings from the base commit: the scan then reads the very same commits,
        and a CI step starts fewer git processes)."""
        if range is not None and since is not None:
            raise SourceError("give either a range (A..B) or a starting point (--since REF), not both.")
        self.spec: RangeSpec | None = None
        if range is not None:
            self.spec = RangeSpec.parse(range)
        elif since is not None:
            self.spec = RangeSpec.since(since)
        self.repository = repository if repository is not None else discover(path, origin)
        if self.spec is not None and resolved is not None:
            self.spec = RangeSpec(self.spec.text, *resolved)
        elif self.spec is not None:  # unknown revisions are a usage error: say so before any work
            for revision in (self.spec.exclude, self.spec.include):
                resolve_commit(self.repository, revision, f"the range {self.spec.text!r}")
        self.history = history
        self.exclude_oids = exclude_oids or {}
        self.include_unreachable = include_unreachable
        self.repositories: list[Repository] = [self.repository]
        if submodules and self.spec is None:
            self.repositories += find_submodules(self.repository)
        self.planned_oids: dict[str, frozenset[str]] = {}
        self.provenance_problems: list[str] = []
        self.inventories: dict[str, Inventory] = {}
        self._history_logs: dict[str, HistoryLog] = {}

    @property
    def description(self) -> str:
        origin = self.repository.origin
        if not self.history:
            return f"git repository {origin} (working tree only)"
        if self.spec is not None:
            return f"git repository {origin} (commits {self.spec.text})"
        parts = ["all refs"]
        if self.include_unreachable:
            parts.append("unreachable objects")
        if len(self.repositories) > 1:
            count = len(self.repositories) - 1
            parts.append(f"{count} submodule{'s' if count != 1 else ''}")
        return f"git repository {origin} ({', '.join(parts)})"

    def plan(self, limits: Limits) -> Iterator[WorkUnit | Skipped]:
        if not self.history:
            return
        for repository in self.repositories:
            yield from self._plan_one(repository, limits)

    def _plan_one(self, repository: Repository, limits: Limits) -> Iterator[WorkUnit | Skipped]:
        note = shallow_note(repository)
        if note is not None:
            yield note
        excluded = frozenset(self.exclude_oids.get(repository.key, ()))
        located: list[packed.PackLocations] = []

        def while_walking(order: list[bytes], sizes: dict[bytes, int]) -> None:
            # the pack index lookups need no paths: done while git walks the history for them
            oids = [oid.decode("ascii") for oid in order if 0 < sizes[oid] <= limits.max_file_size]
            oids = [oid for oid in oids if oid not in excluded]
            if len(oids) >= packed.PACK_READER_MIN_BLOBS:
                located.append(packed.locate_in_packs(repository, oids))

        if self.spec is not None:
            inventory = introduced_in(repository, self.spec)
        else:
            inventory = enumerate_objects(
                repository, include_unreachable=self.include_unreachable, while_walking=while_walking
            )
        self.inventories[repository.key] = inventory
        yield from inventory.problems
        yield from inventory.missing
        covered: set[str] = set()
        readable = []
        for blob in inventory.blobs:
            if blob.oid in excluded:
                continue
            if blob.size > limits.max_file_size:
                yield too_large(repository.origin, blob, limits)
                continue
            covered.add(blob.oid)
            if blob.size:  # an empty blob holds nothing to find
                readable.append(blob)
        self.planned_oids[repository.key] = frozenset(covered)
        yield from packed.plan_units(
            repository, readable, inventory.delta_bases, located[0] if located else None
        )

    def expects_large_scan(self) -> bool:
        """A whole history whose packs hold more than LARGE_PACK_BYTES (compressed)."""
        if not self.history or self.spec is not None:
            return False
        objects_dir = Path(self.repository.common_dir or self.repository.git_dir) / "objects"
        total = 0
        for pack in pack_files(objects_dir):
            try:
                total += pack.stat().st_size
            except OSError:
                continue
        return total > LARGE_PACK_BYTES

    def scan_starting(self) -> None:
        """Start each planned repository's provenance pass (`git log`, into a temporary file) now, so
        that it runs beside the scan rather than after it. Not in range mode (no provenance pass)."""
        if self.spec is not None:
            return
        for repository in self.repositories:
            inventory = self.inventories.get(repository.key)
            if inventory is not None and repository.key not in self._history_logs:
                self._history_logs[repository.key] = HistoryLog(repository, inventory.unreachable_commits)

    def close(self) -> None:
        for history in self._history_logs.values():
            history.close()
        self._history_logs.clear()

    def provenance(self, locations: Iterable[Location]) -> dict[tuple[str, str], BlobProvenance]:
        """For the locations of findings (their origin and blob_id), where each blob came from:
        one history pass per repository involved. Keyed by (origin, blob_id). A history that cannot
        be read to the end gives the sightings read so far and a sentence in `provenance_problems`."""
        wanted: dict[str, set[str]] = {}
        for location in locations:
            if location.blob_id:
                wanted.setdefault(location.origin, set()).add(location.blob_id)
        result: dict[tuple[str, str], BlobProvenance] = {}
        for repository in self.repositories:
            oids = wanted.get(repository.origin)
            if not oids:
                continue
            inventory = self.inventories.get(repository.key) or Inventory()
            traced = trace(
                repository,
                oids,
                unreachable=inventory.unreachable,
                extra_commits=inventory.unreachable_commits,
                problems=self.provenance_problems,
                history=self._history_logs.pop(repository.key, None),
            )
            for oid, provenance in traced.items():
                result[(repository.origin, oid)] = provenance
        return result

    def working_tree_files(self, *, include_ignored: bool = False) -> list[tuple[Repository, list[Path]]]:
        """Modified and untracked files of the working trees (the repository's and its checked-out
        submodules'), to be scanned as plain files."""
        return [
            (repository, working_tree_changes(repository, include_ignored=include_ignored))
            for repository in self.repositories
            if repository.work_tree is not None
        ]
