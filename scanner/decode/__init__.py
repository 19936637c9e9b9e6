"""The bounded decoding layer in front of the engine: look inside what people actually commit.

`expand(blob, limits)` yields every blob the detector should scan for `blob`, and a Skipped for every
part it could not or would not open. It never raises, and it bounds time and memory whatever the input:

- archives and compressed files (zip and its kin, tar, gzip, bzip2, xz, lzma), recognised by their
  magic bytes and expanded recursively as streams: members at `outer.tar.gz!inner.zip!config.env`,
  bounded by `Limits.max_archive_depth` (default 4 levels), `max_archive_members` (10,000 per archive),
  `max_expanded_bytes` (256 MiB decompressed per top-level blob, all levels together) and
  `max_expansion_ratio` (200:1 per member or stream, enforced past its first MiB,
  `streams.RATIO_FLOOR`). Whatever was read before a limit is still scanned;
- UTF-16 (with a BOM, or without one when the NUL pattern is plain) and UTF-32 (with a BOM) text,
  transcoded to UTF-8 in place of the raw bytes;
- base64 values (when `Limits.decode_base64`), one nested layer included, and URL-encoded segments,
  each bounded per top-level blob by `b64.Caps` (256 values, 256 segments, 4 MiB decoded).

An ordinary text file costs two magic-number checks and one hyperscan pass over literals (`gate.py`),
which the pipeline folds into the rules' own pass (`scan_gate`); the blob itself is yielded first and
is never copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from scanner.decode.archives import Archives, sniff
from scanner.decode.gate import Hits
from scanner.decode.streams import Budget
from scanner.decode.text import TextDecoder, first_look
from scanner.model import Blob, Skipped, SkipReason
from scanner.sources.interface import Limits

__all__ = ["expand"]


def expand(
    blob: Blob, limits: Limits, *, scan_gate: Callable[[bytes], Hits] | None = None
) -> Iterator[Blob | Skipped]:
    """Every blob to scan for `blob` (itself first, unless an archive or UTF-16) and what was skipped.
    `scan_gate`: runs the decode gate over the top-level text (default: the gate's own pass)."""
    pending: Blob | None = blob  # until yielded, a failure must not cost the blob its own scan
    try:
        whole = blob.first_line == 1 and blob.first_column == 1 and blob.anchor is None
        kind = sniff(blob.data) if whole else None
        if kind is not None:
            decoder = TextDecoder(limits)
            budget = Budget(limits.max_expanded_bytes, blob.location.path)
            pending = None
            yield from Archives(limits, decoder, budget).expand(blob, kind)
            yield from decoder.notes()
            return
        scanned, hits = first_look(blob, scan_gate)
        pending = None
        yield scanned
        if hits is not None:
            decoder = TextDecoder(limits)
            yield from decoder.decoded(scanned, hits)
            yield from decoder.notes()
    except Exception as exc:  # a bug must cost this blob's decoding, never the scan
        if pending is not None:
            yield pending
        yield Skipped(
            blob.location, SkipReason.ERROR, f"decoding stopped early: {type(exc).__name__}: {exc}."
        )
