"""Work units read straight from pack files (`pack.PackReader`), with cat-file for the rest.

Planning (`plan_units`) looks every blob up in the repository's pack indexes. Blobs in a pack, up to
PACKED_BLOB_MAX, are grouped by delta family: a blob, the blob it is stored as a delta of, that one's
base and so on share a root, and a whole family goes to one unit, so that no unit ever rebuilds a delta
chain another unit already built, and each base is inflated once and kept while its deltas follow
(the reader reads in pack order, where a base always comes before its deltas). Families are dealt to
about as many units as the cat-file planner would cut (largest first, each to the lightest unit).

A blob over CHUNK_SIZE is rebuilt whole (versions of a big file are deltas of each other: rebuilding
them in order from the kept base is far cheaper than cat-file resolving each chain, which held the
first second of a scan with a family of 9 MB files) and scanned in overlapping chunks.

Everything else (loose objects, objects of alternates, blobs over PACKED_BLOB_MAX, which cat-file
streams in chunks, never held whole, and every blob whose entry the reader cannot handle) goes
through the `cat-file` reader of `units.py`: a damaged or unusual pack costs speed, never a blob. So
does a plan of fewer than PACK_READER_MIN_BLOBS blobs (a CI range): one cat-file process is cheaper than
loading a big index.
"""

from __future__ import annotations

import heapq
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scanner.model import Blob, Lineage, Skipped, SkipReason
from scanner.sources.git.objects import PlannedBlob
from scanner.sources.git.pack import OBJ_BLOB, PackError, PackReader, pack_files, read_index
from scanner.sources.git.repository import Repository
from scanner.sources.git.safety import Git
from scanner.sources.git.units import (
    GitBlobBatch,
    batch_units,
    lfs_pointer,
    location,
    read_blobs,
    unit_bytes_for,
)
from scanner.sources.interface import CHUNK_SIZE, Limits, WorkUnit, iter_chunks

# Below this many blobs, git's reader: the pack index (every object of the repository) is not loaded.
PACK_READER_MIN_BLOBS = 1000
# Blobs up to this size are rebuilt whole from the pack (then scanned in chunks past CHUNK_SIZE);
# larger ones are streamed by cat-file.
PACKED_BLOB_MAX = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PackedBlobBatch(WorkUnit):
    """Blobs of one pack, whole delta families, in pack order; read in this process."""

    git: Git
    origin: str
    pack: str
    hash_size: int
    blobs: tuple[PlannedBlob, ...]
    offsets: tuple[int, ...]
    deltas_to_come: tuple[int, ...]  # per blob: how many blobs of this unit are stored as its deltas
    bases: tuple[int, ...]  # per blob: the position of its delta base in this unit, or -1
    size: int
    count: int

    def read(self, limits: Limits) -> Iterator[Blob | Skipped]:
        yield from read_packed(self, limits)

    def failed(self, reason: str) -> list[Skipped]:
        return [Skipped(location(self.origin, blob), SkipReason.ERROR, reason) for blob in self.blobs]


def read_packed(unit: PackedBlobBatch, limits: Limits) -> Iterator[Blob | Skipped]:
    """Each blob of `unit` once; those the pack reader cannot read are read by cat-file at the end."""
    retry: list[PlannedBlob] = []
    try:
        reader = PackReader(Path(unit.pack), unit.hash_size, max_size=limits.max_file_size)
    except (OSError, PackError):
        yield from read_blobs(unit.git, unit.origin, unit.blobs, limits)
        return
    to_come = list(unit.deltas_to_come)
    with reader:
        members = zip(unit.blobs, unit.offsets, unit.bases, strict=True)
        for position, (blob, offset, base) in enumerate(members):
            has_deltas = to_come[position] > 0
            try:
                kind, data, origin = reader.read_delta(offset, keep=has_deltas)
            except (PackError, OSError, ValueError):
                retry.append(blob)
                continue
            finally:
                if base >= 0:  # one delta fewer to come for the base: drop it after its last one
                    to_come[base] -= 1
                    if to_come[base] == 0:
                        reader.forget(unit.offsets[base])
            if kind != OBJ_BLOB or len(data) != blob.size:
                retry.append(blob)  # not what the listing said: let git say what it is
                continue
            where = location(unit.origin, blob)
            if len(data) > CHUNK_SIZE:
                chunks = iter_chunks(io.BytesIO(data).read)
                yield from (
                    Blob(where, chunk, first_line=line, first_column=column) for line, column, chunk in chunks
                )
                continue
            pointer = lfs_pointer(data)
            if pointer is not None:
                yield Skipped(where, SkipReason.LFS_POINTER, pointer)
                continue
            lineage = None
            if origin is not None and base >= 0 and origin[0] == unit.offsets[base]:
                lineage = Lineage(unit.blobs[base].oid, origin[1])
            yield Blob(where, data, lineage=lineage, has_deltas=has_deltas)
    if retry:
        yield from read_blobs(unit.git, unit.origin, retry, limits)


@dataclass(frozen=True, slots=True)
class PackLocations:
    """Where blobs are stored: the repository's packs and, per blob id, (pack number, offset)."""

    packs: tuple[Path, ...]
    where: Mapping[str, tuple[int, int]]


def locate_in_packs(repository: Repository, oids: Sequence[str]) -> PackLocations:
    """Look `oids` up in the pack indexes (newest pack first, as git does); those not found are not in
    `where` (loose objects, alternates)."""
    hash_size = len(oids[0]) // 2 if oids else 20
    objects_dir = Path(repository.common_dir or repository.git_dir) / "objects"
    packs = pack_files(objects_dir)
    where: dict[str, tuple[int, int]] = {}
    for number, pack in enumerate(packs):
        try:
            index = read_index(pack.with_suffix(".idx"), hash_size)
        except (OSError, PackError):
            continue
        for oid in oids:
            if oid not in where:
                offset = index.get(oid)
                if offset is not None:
                    where[oid] = (number, offset)
    return PackLocations(tuple(packs), where)


def plan_units(
    repository: Repository,
    blobs: Sequence[PlannedBlob],
    delta_bases: Mapping[str, str],
    located: PackLocations | None = None,
) -> Iterator[WorkUnit]:
    """Units for `blobs` (already filtered: in the plan, not too large, not empty). `located`: from
    `locate_in_packs` for (at least) these blobs, if the caller looked them up already."""
    if len(blobs) < PACK_READER_MIN_BLOBS:
        # a range, a staged commit, an incremental rescan: loading the whole pack index would cost
        # more than the one cat-file process that reads these few blobs
        yield from batch_units(
            repository.git,
            repository.origin,
            blobs,
            unit_bytes=unit_bytes_for(sum(blob.size for blob in blobs)),
            delta_bases=delta_bases,
        )
        return
    hash_size = len(blobs[0].oid) // 2 if blobs else 20
    if located is None:
        located = locate_in_packs(repository, [blob.oid for blob in blobs])
    packs, where = located.packs, located.where
    rest: list[PlannedBlob] = []
    by_pack: dict[int, list[PlannedBlob]] = {}
    for blob in blobs:
        found = where.get(blob.oid)
        if found is None or blob.size > PACKED_BLOB_MAX:
            rest.append(blob)
        else:
            by_pack.setdefault(found[0], []).append(blob)
    total = sum(blob.size for blob in blobs)
    unit_bytes = unit_bytes_for(total)
    for number, members in by_pack.items():
        yield from _family_units(
            repository, str(packs[number]), hash_size, members, where, delta_bases, unit_bytes
        )
    if rest:
        yield from batch_units(
            repository.git, repository.origin, rest, unit_bytes=unit_bytes, delta_bases=delta_bases
        )


def _family_units(
    repository: Repository,
    pack: str,
    hash_size: int,
    blobs: list[PlannedBlob],
    where: Mapping[str, tuple[int, int]],
    delta_bases: Mapping[str, str],
    unit_bytes: int,
) -> Iterator[PackedBlobBatch]:
    roots: dict[str, str] = {}

    def root_of(oid: str) -> str:
        trail = []
        current = oid
        while current not in roots:
            trail.append(current)
            base = delta_bases.get(current)
            if base is None or base in trail or len(trail) > 10_000:
                break
            current = base
        root = roots.get(current, current)
        for visited in trail:
            roots[visited] = root
        return root

    families: dict[str, list[PlannedBlob]] = {}
    for blob in blobs:
        families.setdefault(root_of(blob.oid), []).append(blob)
    family_bytes = sorted(
        ((sum(b.size for b in members), root) for root, members in families.items()), reverse=True
    )
    total = sum(size for size, _ in family_bytes)
    unit_count = max(1, min(len(family_bytes), -(-total // unit_bytes)))
    heap = [(0, number) for number in range(unit_count)]
    assigned: list[list[PlannedBlob]] = [[] for _ in range(unit_count)]
    for size, root in family_bytes:
        load, number = heapq.heappop(heap)
        assigned[number].extend(families[root])
        heapq.heappush(heap, (load + size, number))
    for members in assigned:
        if not members:
            continue
        members.sort(key=lambda blob: where[blob.oid][1])
        position_of = {blob.oid: position for position, blob in enumerate(members)}
        bases = tuple(position_of.get(delta_bases.get(blob.oid, ""), -1) for blob in members)
        deltas = [0] * len(members)
        for base in bases:
            if base >= 0:
                deltas[base] += 1
        yield PackedBlobBatch(
            git=repository.git,
            origin=repository.origin,
            pack=pack,
            hash_size=hash_size,
            blobs=tuple(members),
            offsets=tuple(where[blob.oid][1] for blob in members),
            deltas_to_come=tuple(deltas),
            bases=bases,
            size=sum(blob.size for blob in members),
            count=len(members),
        )


__all__ = ["GitBlobBatch", "PackLocations", "PackedBlobBatch", "locate_in_packs", "plan_units", "read_packed"]
