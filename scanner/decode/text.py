"""Text blobs: UTF-16/UTF-32 transcoding, then base64 values and URL-encoded segments inside.

`TextDecoder.derive(blob)` yields the blob itself first (unchanged, not copied; or its UTF-8
transcoding), then whatever decoding reveals. One decoder serves one top-level blob, so its caps bound
the work for everything expanded from it, archive members included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from scanner.decode import b64
from scanner.decode.gate import Hits, gate
from scanner.decode.url import url_blobs
from scanner.model import Blob, Location, Skipped, SkipReason
from scanner.sources.interface import Limits

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32le", 4),
    (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32be", 4),
    (b"\xff\xfe", "utf-16-le", "utf-16le", 2),
    (b"\xfe\xff", "utf-16-be", "utf-16be", 2),
)
_SAMPLE = 512
_MAYBE_WIDE = (b"\xff", b"\xfe", b"\x00")
_PRINTABLE = bytes([9, 10, 13, *range(0x20, 0x7F)])


def utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when every other byte is NUL and the rest is printable ASCII."""
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    for text, zeros, codec in ((even, odd, "utf-16-le"), (odd, even, "utf-16-be")):
        if zeros.count(0) * 10 >= len(zeros) * 9 and len(text.translate(None, _PRINTABLE)) * 10 <= len(text):
            return codec
    return None


def transcode(blob: Blob) -> Blob | None:
    """The UTF-8 text of a UTF-16 or UTF-32 blob (line breaks survive, so lines stay right), else None."""
    data = blob.data
    head = data[:4]
    marked = [(codec, tag, skip) for bom, codec, tag, skip in _BOMS if head.startswith(bom)]
    if marked:
        codec, tag, skip = marked[0]
    else:
        if len(data) < 8 or (data[0] and data[1]):
            return None
        found = utf16_without_bom(data[:_SAMPLE])
        if found is None:
            return None
        codec, tag, skip = found, found[:6] + found[7:], 0
    width = 4 if "32" in codec else 2
    text = data[skip:].decode(codec, "replace").encode("utf-8", "replace")
    return Blob(
        blob.location,
        text,
        (*blob.encoding, tag),
        blob.first_line,
        anchor=blob.anchor,
        first_column=(blob.first_column - 1) // width + 1,
    )


def first_look(blob: Blob, scan_gate: Callable[[bytes], Hits] | None = None) -> tuple[Blob, Hits | None]:
    """The blob to scan (transcoded if UTF-16/32) and what the gate found in it (None: nothing to decode).

    This is all an ordinary text file costs: two byte comparisons and one gate scan. `scan_gate`: how
    to run the gate (the pipeline's shared pass with the rules, see `scanner.firstpass`).
    """
    data = blob.data
    if data[:1] in _MAYBE_WIDE or data[1:2] == b"\x00":
        transcoded = transcode(blob)
        if transcoded is not None:
            blob = transcoded
    if len(blob.data) < b64.MIN_RUN:
        return blob, None
    hits = (scan_gate or gate().scan)(blob.data)
    return blob, hits if hits else None


class TextDecoder:
    """Decodes what the gate found; one per top-level blob, so its caps bound all of that blob's work."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.caps = b64.Caps()
        self.gate = gate()
        self._note_at: Location | None = None

    def derive(self, blob: Blob) -> Iterator[Blob]:
        """The blob (or its transcoding), then every value decoded from it."""
        blob, hits = first_look(blob)
        yield blob
        if hits is not None:
            yield from self.decoded(blob, hits)

    def _derived(self, blob: Blob, nested: bool) -> Iterator[Blob]:
        if len(blob.data) >= b64.MIN_RUN:
            hits = self.gate.scan(blob.data)
            if hits:
                yield from self.decoded(blob, hits, nested)

    def decoded(self, blob: Blob, hits: Hits, nested: bool = False) -> Iterator[Blob]:
        """The blobs decoded from `blob` at the gate's hits (base64 values, URL-encoded segments)."""
        data = blob.data
        if self.limits.decode_base64 and (hits.inner or hits.starts or hits.marker):
            if hits.marker:
                self.gate.add_runs(data, hits)
            values = b64.find_values(data, hits.inner, hits.starts, self.caps, nested=not nested)
            for child in b64.blobs_for(blob, values):
                yield child
                if not nested and child.anchor is not None and blob.anchor is None:
                    yield from self._derived(child, nested=True)
        if hits.truncated:
            self.caps.reached("the cap on candidate positions per file")
        if hits.pct:
            for child in url_blobs(blob, hits.pct, self.caps):
                yield child
                if not nested:
                    yield from self._derived(child, nested=True)
        if self.caps.note and self._note_at is None:
            self._note_at = blob.location  # where a cap was first reached

    def notes(self) -> Iterator[Skipped]:
        """One Skipped when a cap stopped decoding early."""
        if self.caps.note and self._note_at is not None:
            yield Skipped(
                self._note_at,
                SkipReason.ARCHIVE_LIMIT,
                f"decoding stopped at {self.caps.note}: base64 and URL-encoded values after that point "
                "were scanned only as they are, not decoded.",
            )
