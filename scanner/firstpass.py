"""One hyperscan pass per top-level blob for both the rules and the decode gate, reused across the
versions of a file.

The gate (`scanner.decode.gate`) and the rules each need a pass over every text blob; separately they
cost two. `FirstPass` runs the rules' database, compiled with the gate's patterns as extras, once:
the gate's hits go to the decoder (`expand(..., scan_gate=first.gate_hits)`), the rules' windows are
kept for the detector's scan of that same blob (`first.windows_for(blob)`). Blobs decoded from it
(base64 values, archive members) are small and take the usual separate passes.

A git history is mostly versions of the same files, and a pack stores each version as the bytes it
copies from another version plus the bytes it inserts (`model.Lineage`). When the version it copies
from was scanned just before in the same unit, its reports are carried over instead of scanning
again: a report depends on at most HIT_CONTEXT bytes before its end and HIT_LOOKAHEAD after it
(`scanner.engine`), so every report of the base whose end lies that far inside one copied stretch
is a report of the new version at the same distance into the stretch, and only the rest (inserted
bytes and the edges of the copies) is scanned. The detector then confirms the windows on the new
version's own bytes, as always: the carried-over reports only save the prefilter pass.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from scanner.decode.gate import Gate, Hits
from scanner.engine import HIT_CONTEXT, HIT_LOOKAHEAD, MAX_EXTRA_REPORTS, Engine, PrefilterHits, Windows
from scanner.model import Blob

# Past this many reports a blob's are not kept for its later versions (a file made of matches).
MAX_KEPT_REPORTS = 100_000
# Copied stretches whose reports are carried over must leave at least this many end offsets: below
# that, rescanning a stretch costs less than the bookkeeping and the extra hyperscan call for the gap
# it would split (a delta copies a median of 6 stretches, half of them under 600 bytes).
MIN_CORE = 4096


def carried_over(
    base: PrefilterHits, copies: Sequence[tuple[int, int, int]], size: int
) -> tuple[PrefilterHits, list[tuple[int, int]]]:
    """The base's reports that hold in a version of `size` bytes made with `copies` (its offset, the
    base's offset, length; ascending), and the (first, last) end offsets left to scan there.

    A report ending at `end` holds if the HIT_CONTEXT bytes before it and the HIT_LOOKAHEAD after it
    were copied in one stretch; a stretch that starts both blobs (or ends both) also carries the
    start (or end) of the data, so its reports hold right up to that edge.
    """
    cores: list[tuple[int, int, int]] = []  # (first end, last end, shift from base to new)
    for at, base_at, length in copies:
        first = 0 if at == base_at == 0 else at + HIT_CONTEXT
        last = size if at + length == size and base_at + length == base.size else at + length - HIT_LOOKAHEAD
        if last - first >= MIN_CORE:
            cores.append((first, last, at - base_at))
    hits = PrefilterHits(size=size)
    if cores:
        for rule_index, ends in base.rule_ends.items():
            moved = _moved(ends, cores)
            if moved:
                hits.rule_ends[rule_index] = moved
        if base.extra_ends:
            extra_ends = [end for _, end in base.extra_ends]
            for first, last, shift in cores:
                lo = bisect_left(extra_ends, first - shift)
                hi = bisect_right(extra_ends, last - shift)
                hits.extra_ends.extend((position, end + shift) for position, end in base.extra_ends[lo:hi])
    gaps: list[tuple[int, int]] = []
    cursor = 0
    for first, last, _ in cores:
        if first > cursor:
            gaps.append((cursor, first - 1))
        cursor = max(cursor, last + 1)
    if cursor <= size:
        gaps.append((cursor, size))
    return hits, gaps


def _moved(ends: list[int], cores: list[tuple[int, int, int]]) -> list[int]:
    moved: list[int] = []
    for first, last, shift in cores:
        lo = bisect_left(ends, first - shift)
        hi = bisect_right(ends, last - shift)
        moved.extend(end + shift for end in ends[lo:hi])
    return moved


def merged(hits: PrefilterHits, more: PrefilterHits) -> PrefilterHits:
    """Both sets of reports, each list ascending by end (they never share an end offset)."""
    rule_ends = dict(hits.rule_ends)
    for rule_index, ends in more.rule_ends.items():
        rule_ends[rule_index] = sorted(rule_ends.get(rule_index, []) + ends)
    if not hits.extra_ends:
        extra_ends = more.extra_ends
    elif not more.extra_ends:
        extra_ends = hits.extra_ends
    else:
        extra_ends = sorted(hits.extra_ends + more.extra_ends, key=lambda item: item[1])
    truncated = hits.truncated or more.truncated or len(extra_ends) > MAX_EXTRA_REPORTS
    return PrefilterHits(rule_ends, extra_ends[:MAX_EXTRA_REPORTS], truncated, more.size)


class FirstPass:
    """The shared pass of one worker: remembers the windows of the blob it scanned last and, within a
    unit, the reports of the versions that later versions are rebuilt from."""

    def __init__(self, engine: Engine, gate: Gate, *, reuse: bool = True) -> None:
        self._engine = engine
        self._gate = gate
        self._reuse = reuse
        self._blob: Blob | None = None
        self._data: bytes | None = None
        self._hits: PrefilterHits | None = None
        self._windows: Windows | None = None
        self._kept: dict[str, PrefilterHits] = {}
        self.carried = 0  # blobs whose reports were carried over (for tests and profiling)

    def begin(self, blob: Blob) -> None:
        """The next top-level blob of the unit (its lineage says what it was rebuilt from)."""
        self.forget()
        self._blob = blob

    def gate_hits(self, data: bytes) -> Hits:
        """The gate's hits in `data`; the rules' windows for it are kept for `windows_for`."""
        if not self._engine.has_extras:  # no hyperscan, or an engine built without the gate
            return self._gate.scan(data)
        hits = self._reports(data)
        self._data, self._hits = data, hits
        self._windows = self._engine.windows_of(hits.rule_ends)
        gate_hits, on_extra = self._gate.collector()
        for position, end in hits.extra_ends:
            on_extra(position, end)
        return gate_hits

    def _reports(self, data: bytes) -> PrefilterHits:
        blob = self._blob
        lineage = blob.lineage if blob is not None and data is blob.data else None
        base = self._kept.get(lineage.base_blob_id) if lineage is not None and self._reuse else None
        if lineage is None or base is None or base.truncated:
            return self._engine.prefilter(data)
        hits, gaps = carried_over(base, lineage.copies, len(data))
        self.carried += 1
        return merged(hits, self._engine.prefilter(data, gaps))

    def windows_for(self, blob: Blob) -> Windows | None:
        """The rules' windows if the last pass was over this blob's very bytes, else None."""
        return self._windows if blob.data is self._data else None

    def end(self, blob: Blob) -> None:
        """The blob is done: keep its reports if later versions of the unit are rebuilt from it."""
        hits = self._hits
        if (
            self._reuse
            and blob.has_deltas
            and hits is not None
            and self._data is blob.data
            and blob.location.blob_id
            and len(hits.extra_ends) + sum(map(len, hits.rule_ends.values())) <= MAX_KEPT_REPORTS
        ):
            self._kept[blob.location.blob_id] = hits
        self.forget()

    def forget(self) -> None:
        self._blob = None
        self._data = self._hits = self._windows = None

    def end_unit(self) -> None:
        self.forget()
        self._kept.clear()
