"""Which blobs to read: every blob in the object database once, each with a representative path.

Two plumbing passes, both streamed:

1. `git cat-file --batch-all-objects --batch-check --unordered`: every object present (packs, loose,
   alternates) with its type, size and delta base, in pack order, which is the order the readers use
   so that delta bases are still in git's cache when their deltas are read (the units are cut between
   delta chains, see `units.batch_units`).
2. `git rev-list --objects --all --reflog --indexed-objects --missing=print`: what is reachable from any
   ref (branches, tags, notes, stash, remote-tracking, replace refs), from any reflog entry (older
   stashes, amended or reset commits) or from the index (staged files), each object with the first
   path it was found at. Blobs of (1) not listed here are unreachable (dangling or only in a dropped
   commit); objects listed as `?oid` are missing (partial clone, damaged repository).
   `--missing=print` also keeps rev-list from lazily fetching a partial clone's missing blobs.
   `--filter=object:type=blob` leaves out the trees (a third of the output); a plain `rev-list` of the
   commits, beside it, tells the dangling commits (those the provenance pass must walk too).

For `--range`/`--since` (`introduced_in`), one `git log --raw` over the range gives the blobs its commits
introduced, each with the commit and its real path.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, NamedTuple

from scanner.model import Location, Skipped, SkipReason, SourceKind
from scanner.sources.git.repository import Repository, shallow_boundary
from scanner.sources.git.safety import GitFailed, check_revision, first_line
from scanner.sources.interface import SourceError

UNREACHABLE_PREFIX = "(unreachable)/"
UNKNOWN_PREFIX = "(path unknown)/"
MISSING_PREFIX = "(missing)/"
_HEX = re.compile(rb"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_READ_BLOCK = 1 << 20
_FS_ENCODING = sys.getfilesystemencoding()


class PlannedBlob(NamedTuple):
    """A blob to read: its id, size, the path reported for it and, for range scans, the commit."""

    oid: str
    size: int
    path: str
    commit: str | None = None


@dataclass
class Inventory:
    """What one repository holds, as far as planning needs to know."""

    blobs: list[PlannedBlob] = field(default_factory=list)  # pack order
    unreachable: set[str] = field(default_factory=set)  # blob ids reachable from no ref, reflog or index
    unreachable_commits: list[str] = field(default_factory=list)
    delta_bases: dict[str, str] = field(default_factory=dict)  # blob -> the blob it is stored as a delta of
    missing: list[Skipped] = field(default_factory=list)
    problems: list[Skipped] = field(default_factory=list)
    complete: bool = True  # False when the history walk failed: paths and reachability are partial


def _location(
    repository: Repository, path: str, oid: str | None = None, commit: str | None = None
) -> Location:
    return Location(SourceKind.GIT, repository.origin, path, commit=commit, blob_id=oid)


def missing_detail(repository: Repository, oid: str) -> str:
    if repository.partial:
        return (
            f"object {oid} is not in this partial clone (it was never downloaded); it was not scanned. "
            "Fetch it (git fetch --refetch, or clone without --filter) to scan it."
        )
    return (
        f"object {oid} is missing from the object database (damaged or incomplete repository); "
        "it was not scanned."
    )


def iter_records(stream: IO[bytes], separator: bytes = b"\n") -> Iterator[bytes]:
    """Records of a pipe split on `separator`, streamed in blocks."""
    pending = b""
    while True:
        block = stream.read(_READ_BLOCK)
        if not block:
            break
        pending += block
        records = pending.split(separator)
        pending = records.pop()
        yield from records
    if pending:
        yield pending


def _stderr_text(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read(64 * 1024).decode("utf-8", "replace")


# type first: a tree's line (most lines) fails at its first byte
_PRESENT = re.compile(rb"^(blob|commit) ([0-9a-f]{40,64}) (\d+) ([0-9a-f]{40,64})?$", re.MULTILINE)
_NAMED = re.compile(rb"^([0-9a-f]{40,64}) (.*)$", re.MULTILINE)
_BARE = re.compile(rb"^([0-9a-f]{40,64})$", re.MULTILINE)
_MISSING = re.compile(rb"^\?([0-9a-f]{40,64})$", re.MULTILINE)
_NO_OID = re.compile(rb"^0+$")


def iter_blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """A pipe or file in blocks of whole lines (about _READ_BLOCK bytes), for parsing with regexes."""
    pending = b""
    while True:
        block = stream.read(_READ_BLOCK)
        if not block:
            break
        block = pending + block
        cut = block.rfind(b"\n") + 1
        pending = block[cut:]
        if cut:
            yield block[:cut]
    if pending:
        yield pending + b"\n"


# Called with the object listing (blob ids in pack order, their sizes) while the history walk runs.
WhileWalking = Callable[[list[bytes], dict[bytes, int]], None]


def enumerate_objects(
    repository: Repository, *, include_unreachable: bool = True, while_walking: WhileWalking | None = None
) -> Inventory:
    """Every blob of the repository once, in pack order, with its representative path.

    The history walk runs (into a temporary file) while the object listing is parsed: both cores work.
    `while_walking` gets the listing as soon as it is parsed, before the walk is waited for (the
    planner looks the blobs up in the pack index meanwhile).
    Never raises for a damaged repository: what could not be listed becomes `problems`, what is
    missing becomes `missing` (Skipped MISSING_OBJECT with the oid), and everything readable is kept.
    """
    inventory = Inventory()
    with (
        tempfile.TemporaryFile() as walk_output,
        tempfile.TemporaryFile() as walk_errors,
        tempfile.TemporaryFile() as commit_output,
    ):
        walk = repository.git.popen(*_BLOB_WALK, *_ONLY_BLOBS, stdout=walk_output, stderr=walk_errors)
        # the commits reached (to tell the dangling ones), apart: the blob walk prints no commit
        commit_walk = repository.git.popen(
            "rev-list", "--all", "--reflog", "--indexed-objects", stdout=commit_output
        )
        try:
            sizes, order, commits, bases = _list_present_objects(repository, inventory)
            if while_walking is not None:
                while_walking(order, sizes)
        finally:
            walk_status = walk.wait()
            commits_status = commit_walk.wait()
        if walk_status != 0 and b"filter" in _stderr_text(walk_errors).encode():
            # a git older than 2.32 (no object:type filter): the same walk, trees printed too
            walk_output.seek(0)
            walk_output.truncate()
            walk_errors.seek(0)
            walk_errors.truncate()
            walk_status = repository.git.popen(*_BLOB_WALK, stdout=walk_output, stderr=walk_errors).wait()
        walk_output.seek(0)
        paths, missing = _parse_walk(walk_output, sizes)
        commit_output.seek(0)
        reachable_commits = set(_BARE.findall(commit_output.read())) & commits
        if walk_status != 0 or commits_status != 0:
            inventory.complete = False
            reason = (
                first_line(_stderr_text(walk_errors)) or f"git exited with {walk_status or commits_status}"
            )
            inventory.problems.append(
                Skipped(
                    _location(repository, "(history)"),
                    SkipReason.UNREADABLE,
                    f"walking the history failed ({reason}): every blob present is still scanned, but "
                    f"those the walk did not reach are reported under '{UNKNOWN_PREFIX}<oid>' without "
                    "their paths.",
                )
            )

    for raw in missing:
        oid = raw.decode("ascii")
        inventory.missing.append(
            Skipped(
                _location(repository, MISSING_PREFIX + oid, oid),
                SkipReason.MISSING_OBJECT,
                missing_detail(repository, oid),
            )
        )
    prefix = UNREACHABLE_PREFIX if inventory.complete else UNKNOWN_PREFIX
    for raw in order:
        oid = raw.decode("ascii")
        name = paths.get(raw)
        if name is None:
            if inventory.complete:
                inventory.unreachable.add(oid)
                if not include_unreachable:
                    continue
            path = prefix + oid
        else:
            path = name.decode(_FS_ENCODING, "surrogateescape")  # os.fsdecode, without its checks
        inventory.blobs.append(PlannedBlob(oid, sizes[raw], path))
        base = bases.get(raw)
        if base is not None:
            inventory.delta_bases[oid] = base.decode("ascii")
    if inventory.complete:
        inventory.unreachable_commits = sorted(
            commit.decode("ascii") for commit in commits - reachable_commits
        )
    return inventory


def _list_present_objects(
    repository: Repository, inventory: Inventory
) -> tuple[dict[bytes, int], list[bytes], set[bytes], dict[bytes, bytes]]:
    """Blobs (size, pack order, delta base) and commits present in the object database."""
    sizes: dict[bytes, int] = {}
    order: list[bytes] = []
    commits: set[bytes] = set()
    bases: dict[bytes, bytes] = {}
    with tempfile.TemporaryFile() as errors:
        process = repository.git.popen(
            "cat-file",
            "--batch-all-objects",
            "--unordered",
            "--buffer",
            "--batch-check=%(objecttype) %(objectname) %(objectsize) %(deltabase)",
            stderr=errors,
        )
        assert process.stdout is not None
        with process.stdout:
            for block in iter_blocks(process.stdout):
                for kind, oid, size, base in _PRESENT.findall(block):
                    if kind == b"commit":
                        commits.add(oid)
                        continue
                    if oid not in sizes:
                        order.append(oid)
                    sizes[oid] = int(size)
                    if base and not _NO_OID.match(base):
                        bases[oid] = base
        if process.wait() != 0:
            inventory.problems.append(
                Skipped(
                    _location(repository, "(object database)"),
                    SkipReason.UNREADABLE,
                    "listing the object database failed part-way "
                    f"({first_line(_stderr_text(errors)) or f'git exited with {process.returncode}'}); "
                    f"the {len(sizes)} blobs listed before the failure are scanned.",
                )
            )
    return sizes, order, commits, bases


# Every object reachable from a ref, a reflog entry or the index, with the first path it was found
# at; `?oid` for a missing one (and no lazy fetch in a partial clone).
_BLOB_WALK = ("rev-list", "--objects", "--all", "--reflog", "--indexed-objects", "--missing=print")
# Only the blobs printed (trees are still walked for the paths): a third of the lines to read.
_ONLY_BLOBS = ("--filter=object:type=blob", "--filter-provided-objects")


def _parse_walk(output: IO[bytes], sizes: dict[bytes, int]) -> tuple[dict[bytes, bytes], list[bytes]]:
    """From `rev-list --objects --missing=print` output: each blob's first path and the missing
    objects."""
    paths: dict[bytes, bytes] = {}
    missing: list[bytes] = []
    for block in iter_blocks(output):
        for oid, name in _NAMED.findall(block):
            if oid in sizes and oid not in paths:
                paths[oid] = name
        if b"?" in block:
            missing += _MISSING.findall(block)
    return paths, missing


def shallow_note(repository: Repository) -> Skipped | None:
    """A shallow clone: say that history before its boundary was not available."""
    if not repository.shallow:
        return None
    boundary = shallow_boundary(repository)
    shown = ", ".join(commit[:12] for commit in boundary[:3]) + (" ..." if len(boundary) > 3 else "")
    return Skipped(
        _location(repository, "(history before the shallow boundary)"),
        SkipReason.SHALLOW_HISTORY,
        f"a shallow clone: the history before commit{'s' if len(boundary) != 1 else ''} {shown} is not in "
        "this repository and was not scanned (git fetch --unshallow, then scan again, to cover it).",
    )


# --- ranges ---------------------------------------------------------------------------------------

LOG_FORMAT = "--format=%x01%H"


@dataclass(frozen=True, slots=True)
class RangeSpec:
    """`A..B` (what B has that A has not), from `--range A..B` or `--since A` (= `A..HEAD`)."""

    text: str
    exclude: str
    include: str

    @classmethod
    def parse(cls, text: str) -> RangeSpec:
        check_revision(text)
        if "..." in text:
            raise SourceError(f"the range {text!r} uses '...': give A..B (the commits B has that A has not).")
        if ".." not in text:
            raise SourceError(f"the range {text!r} is not of the form A..B (use --since REF for REF..HEAD).")
        exclude, _, include = text.partition("..")
        exclude, include = exclude or "HEAD", include or "HEAD"
        for side in (exclude, include):
            check_revision(side)
        return cls(text, exclude, include)

    @classmethod
    def since(cls, revision: str) -> RangeSpec:
        check_revision(revision)
        return cls(f"{revision}..HEAD", revision, "HEAD")


def resolve_commit(repository: Repository, revision: str, what: str) -> str:
    """The commit a revision names, or a SourceError that says why not (shallow clones included)."""
    check_revision(revision)
    try:
        out = repository.git.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", what=what
        )
    except GitFailed:
        hint = ""
        if repository.shallow:
            hint = (
                " This is a shallow clone: commits before its boundary are not available "
                "(git fetch --deepen=N or --unshallow)."
            )
        raise SourceError(f"{what}: {revision!r} is not a commit in {repository.origin}.{hint}") from None
    return out.decode("ascii").strip()


def introduced_in(repository: Repository, spec: RangeSpec) -> Inventory:
    """The blobs the commits of `spec` introduced (added or changed), each once, with the first
    (oldest) commit of the range that introduced it and its path there."""
    exclude = resolve_commit(repository, spec.exclude, f"the range {spec.text!r}")
    include = resolve_commit(repository, spec.include, f"the range {spec.text!r}")
    inventory = Inventory()
    found: dict[str, tuple[str, str]] = {}
    order: list[str] = []
    with tempfile.TemporaryFile() as errors:
        process = repository.git.popen(
            *raw_log_arguments(),
            "--reverse",
            "--topo-order",
            LOG_FORMAT,
            "--end-of-options",
            include,
            f"^{exclude}",
            stderr=errors,
        )
        assert process.stdout is not None
        with process.stdout:
            for header, entries in iter_raw_log(process.stdout):
                commit = header.decode("ascii", "replace")
                for oid, raw_path in entries:
                    if oid not in found:
                        found[oid] = (commit, os.fsdecode(raw_path))
                        order.append(oid)
        if process.wait() != 0:
            raise SourceError(
                f"listing the commits of {spec.text!r} failed: "
                f"{first_line(_stderr_text(errors)) or f'git exited with {process.returncode}'}."
            )
    sizes = object_sizes(repository, order)
    for oid in order:
        commit, path = found[oid]
        size = sizes.get(oid)
        if size is None:
            inventory.missing.append(
                Skipped(
                    _location(repository, path, oid, commit),
                    SkipReason.MISSING_OBJECT,
                    missing_detail(repository, oid),
                )
            )
            continue
        inventory.blobs.append(PlannedBlob(oid, size, path, commit))
    return inventory


def raw_log_arguments() -> tuple[str, ...]:
    """`git log` printing, per commit, the blobs it introduced: raw diff entries, NUL separated.

    Merges are shown as combined diffs (`-c`): a path appears only when the merge result differs
    from every parent, i.e. when the merge itself introduced the content (a conflict resolution, an
    "evil" merge); what came in from a merged branch is attributed to the branch's own commits.
    """
    return (
        "log",
        "--raw",
        "-c",
        "-z",
        "--root",
        "--no-renames",
        "--no-abbrev",
        "--no-ext-diff",
        "--no-textconv",
        "--diff-filter=AMT",
        "--encoding=UTF-8",
    )


def iter_raw_log(stream: IO[bytes]) -> Iterator[tuple[bytes, list[tuple[str, bytes]]]]:
    """Parse `raw_log_arguments()` output whose format starts with %x01: yields (header, entries)
    where header is the format's text after %x01 and entries are (new blob id, path) pairs."""
    header: bytes | None = None
    entries: list[tuple[str, bytes]] = []
    expect_path_for: str | None = None
    skip_path = False
    for token in iter_records(stream, b"\0"):
        if expect_path_for is not None or skip_path:
            if expect_path_for is not None:
                entries.append((expect_path_for, token))
            expect_path_for, skip_path = None, False
            continue
        token = token.lstrip(b"\n")
        if not token:
            continue
        if token.startswith(b"\x01"):
            if header is not None:
                yield header, entries
            header, entries = token[1:].rstrip(b"\n"), []
            continue
        if token.startswith(b":"):
            oid = _new_blob(token)
            if oid is None:
                skip_path = True
            else:
                expect_path_for = oid
    if header is not None:
        yield header, entries


def _new_blob(meta: bytes) -> str | None:
    """The post-image blob of a raw diff line (`:m1 m2 o1 o2 S` or `::m1 m2 m3 o1 o2 o3 SS`), if any."""
    parents = len(meta) - len(meta.lstrip(b":"))
    fields = meta[parents:].split()
    if len(fields) < 2 * parents + 2:
        return None
    mode = fields[parents]
    oid = fields[2 * parents + 1]
    if mode in (b"000000", b"160000") or not _HEX.match(oid) or oid.strip(b"0") == b"":
        return None
    return oid.decode("ascii")


def object_sizes(repository: Repository, oids: list[str]) -> dict[str, int]:
    """Sizes of the given blobs (one `cat-file --batch-check`); missing ones are left out."""
    if not oids:
        return {}
    out = repository.git.run(
        "cat-file",
        "--batch-check=%(objectname) %(objecttype) %(objectsize)",
        input=("\n".join(oids) + "\n").encode("ascii"),
        what="reading object sizes",
    )
    sizes: dict[str, int] = {}
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] == "blob":
            sizes[parts[0]] = int(parts[2])
    return sizes
