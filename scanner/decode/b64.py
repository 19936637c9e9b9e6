"""Base64 values inside text: take the run around each gate hit, decode it if it is text, and hand the
text to the engine where a person would look for it.

A value that decodes to one short line (a Kubernetes Secret's `data:` entry, `"auth": "..."`) goes into a
*view* of the parent: the parent's lines from the first such value to the last, every other line left
empty, each value's line holding the assignment's name and the decoded value at the value's column. So
`AWS_ACCESS_KEY_ID: <b64>` and `AWS_SECRET_ACCESS_KEY: <b64>` two lines apart decode into lines that read
like a plain credentials file, the key id pairs with its secret, and the finding lands on the real line.
A value that decodes to several lines (a base64'd `.env`) becomes its own blob anchored at the value.

Cheap rejection comes first: hex strings are skipped, and only a 64-character prefix is decoded before
deciding, so image data and integrity hashes (`sha512-...`) cost a few microseconds each.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby

import regex

from scanner.filters import INLINE_ALLOW_MARKERS
from scanner.model import Blob

MIN_RUN = 20  # base64 characters: shorter runs decode to under 15 bytes, too short to hide a secret
MAX_RUN = 1024 * 1024  # characters of one run looked at (either side of the hit)
PREFIX_CHARS = 64  # decoded first to reject binary cheaply
SINGLE_LINE_MAX = 1024  # a decoded one-line value up to this long goes into the view
VIEW_GAP_LINES = 40  # values further apart than this start a new view blob
MAX_PAD = 4096  # columns kept exact up to here (the view pads with spaces)
WRAP_MIN = 40  # shortest line of a wrapped base64 block (`base64` wraps at 76, PEM at 64)

_RUN_CHARS = rb"[A-Za-z0-9+/_\-]"
_BACK = regex.compile(rb"(?r)" + _RUN_CHARS + rb"*")
_FORWARD = regex.compile(_RUN_CHARS + rb"*")
_WHOLE_VALUE = regex.compile(_RUN_CHARS + rb"{%d,}={0,2}" % MIN_RUN)
_NAME = regex.compile(rb"(?r)[A-Za-z0-9_.\-]{1,64}[\x22'`]?[ \t]*(?:[:=]|=>|:=)[ \t]*[\x22'`]?")
_WHITESPACE = b" \t\r\n"
_HEX = b"0123456789abcdefABCDEF"
_URL_SAFE = bytes.maketrans(b"-_", b"+/")
_CONTROL = bytes(c for c in range(256) if (c < 0x20 and c not in (9, 10, 12, 13)) or c == 0x7F)
_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(slots=True)
class Caps:
    """Work allowed on decoded values for one top-level blob; `notes` say which cap was reached."""

    values: int = 256  # base64 values that decode to text
    attempts: int = 4096  # runs looked at
    decoded: int = 4 * 1024 * 1024  # bytes produced by base64 and URL decoding together
    segments: int = 256  # URL-encoded segments
    note: str = ""

    def reached(self, what: str) -> None:
        if not self.note:
            self.note = what


@dataclass(frozen=True, slots=True)
class Value:
    start: int  # the run in the parent (it may span wrapped lines)
    end: int
    decoded: bytes
    layers: int  # 2 when the value was base64 inside base64


def is_text(data: bytes, partial: bool = False) -> bool:
    """Decoded bytes a person would call text: no control characters, valid UTF-8, mostly letters/digits.

    `partial` accepts a multi-byte character cut at the end (a prefix of a longer value).
    """
    if not data or data.translate(None, _CONTROL) != data:
        return False
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if not (partial and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"):
                return False
    return len(data.translate(None, _ALNUM)) * 10 <= len(data) * 7


def _decode(chars: bytes) -> bytes:
    """Lenient base64/base64url decoding of alphabet characters (padding optional)."""
    chars = chars.rstrip(b"=")
    if b"-" in chars or b"_" in chars:
        chars = chars.translate(_URL_SAFE)
    extra = len(chars) % 4
    if extra == 1:
        chars = chars[:-1]
    elif extra:
        chars += b"=" * (4 - extra)
    return binascii.a2b_base64(chars)


def decode_value(chars: bytes, caps: Caps, nested: bool = True) -> tuple[bytes, int] | None:
    """The text `chars` (base64, whitespace allowed) decodes to, and how many base64 layers it had."""
    if b"\n" in chars or b" " in chars or b"\t" in chars or b"\r" in chars:
        chars = chars.translate(None, _WHITESPACE)
    if len(chars.rstrip(b"=")) < MIN_RUN or not chars.translate(None, _HEX):
        return None
    try:
        head = _decode(chars[:PREFIX_CHARS])
        if not is_text(head, partial=len(chars) > PREFIX_CHARS):
            return None
        if len(chars) > PREFIX_CHARS:
            allowed = max(0, caps.decoded) // 3 * 4
            if allowed < len(chars):
                caps.reached("the decoded-bytes cap")
            decoded = _decode(chars[:allowed])
            if not is_text(decoded, partial=allowed < len(chars)):
                return None
        else:
            decoded = head
    except (binascii.Error, ValueError):
        return None
    if nested and b" " not in decoded and b":" not in decoded:  # cheap tests first: most text has both
        stripped = decoded.strip()
        if _WHOLE_VALUE.fullmatch(stripped):
            inner = decode_value(stripped, caps, nested=False)
            if inner is not None:
                return inner[0], 2
    return decoded, 1


def run_at(data: bytes, position: int, at_start: bool = False) -> tuple[int, int, int]:
    """(start, end, padding) of the base64 run around `position` (which is its start if `at_start`)."""
    size = len(data)
    start = position
    if not at_start:
        back = _BACK.match(data, max(0, position - MAX_RUN), position)
        if back:
            start = back.start()
    forward = _FORWARD.match(data, position, min(size, position + MAX_RUN))
    end = forward.end() if forward else position
    run = data[start:end]
    if (b"-" in run or b"_" in run) and (b"+" in run or b"/" in run):
        # two alphabets: `sha512-<std>` or a path; keep the piece around the hit
        offset = position - start
        left = max(run.rfind(b"-", 0, offset), run.rfind(b"_", 0, offset)) + 1
        rights = [p for p in (run.find(b"-", offset), run.find(b"_", offset)) if p >= 0]
        start, end = start + left, start + (min(rights) if rights else len(run))
    padding = 0
    while end + padding < size and data[end + padding] == 0x3D and padding < 2:
        padding += 1
    return start, end, padding


def _starts_as_text(data: bytes, start: int, end: int) -> bool:
    """Cheap rejection: does the run's first quads decode to text? (Images and hashes do not.)"""
    count = min(end - start, PREFIX_CHARS) // 4 * 4
    try:
        return is_text(_decode(data[start : start + count]), partial=True)
    except (binascii.Error, ValueError):
        return False


def _wrapped(data: bytes, start: int, end: int, padding: int) -> tuple[int, int]:
    """Extend a run that fills its line to the neighbouring lines of the same width (a wrapped block)."""
    width = end - start - padding
    line_start = data.rfind(b"\n", 0, start) + 1
    indent = data[line_start:start]
    if (
        width < WRAP_MIN
        or width % 4
        or indent.strip(b" \t")
        or data[end : end + 1] not in (b"\n", b"\r", b"")
    ):
        return start, end
    first, last = start, end
    # upwards: previous lines that are the same indent and a full-width run
    cursor = line_start
    while cursor > 0 and first - cursor < MAX_RUN:
        previous_start = data.rfind(b"\n", 0, cursor - 1) + 1
        line = data[previous_start : cursor - 1].rstrip(b"\r")
        body = line[len(indent) :]
        if not line.startswith(indent) or len(body) != width or not _FORWARD.fullmatch(body):
            break
        first = previous_start + len(indent)
        cursor = previous_start
    # downwards: full-width lines, then one shorter last line (with its padding)
    if padding == 0:
        cursor = data.find(b"\n", end)
        while cursor != -1 and last - first < MAX_RUN:
            line_end = data.find(b"\n", cursor + 1)
            line = data[cursor + 1 : line_end if line_end != -1 else len(data)].rstrip(b"\r")
            body = line[len(indent) :].rstrip(b"=")
            if not line.startswith(indent) or not body or len(body) > width or not _FORWARD.fullmatch(body):
                break
            last = cursor + 1 + len(line)
            if len(body) < width or line.endswith(b"="):
                break
            cursor = line_end
    return first, last


def _not_encoded_text(head: bytes) -> bool:
    """A run that base64 of text never starts with: 20 hex digits (a digest, an id: `"index":
    "<40 hex>"`), or a snake_case name (`token_queue: tracker_stage_kernel`): no capital letter and
    an underscore. Text puts capitals among every few base64 characters (three bytes encode without
    one only if each is among a few characters from the end of the ASCII table), and `_` (base64url's
    63) only after a `?` or DEL."""
    return (head.islower() and b"_" in head) or not head.translate(None, _HEX)


def find_values(data: bytes, inner: list[int], starts: list[int], caps: Caps, nested: bool) -> list[Value]:
    """Decode, once each, the runs around `inner` offsets and at `starts` that turn out to be text."""
    candidates = sorted([(p, False) for p in inner] + [(p, True) for p in starts])
    values: list[Value] = []
    covered = -1
    for position, at_start in candidates:
        if position < covered:
            continue
        if at_start and _not_encoded_text(data[position : position + MIN_RUN]):
            continue
        if caps.attempts <= 0 or caps.values <= 0 or caps.decoded <= 0:
            caps.reached("the cap on base64 values per file")
            break
        caps.attempts -= 1
        start, end, padding = run_at(data, position, at_start)
        covered = end
        if end - start < MIN_RUN or not _starts_as_text(data, start, end):
            continue
        start, end = _wrapped(data, start, end + padding, padding)
        covered = max(covered, end)
        decoded = decode_value(data[start:end], caps, nested)
        if decoded is None:
            continue
        caps.values -= 1
        caps.decoded -= len(decoded[0])
        values.append(Value(start, end, decoded[0], decoded[1]))
    return values


def blobs_for(parent: Blob, values: list[Value]) -> Iterator[Blob]:
    """View blobs for one-line values, anchored blobs for the others, in the parent's order."""
    data = parent.data
    line = 0
    previous = 0
    placed: list[tuple[int, int, Value]] = []  # (line index, line start, value)
    for value in values:
        line += data.count(b"\n", previous, value.start)
        previous = value.start
        line_start = data.rfind(b"\n", 0, value.start) + 1
        text = value.decoded.strip(b"\r\n")
        if b"\n" in text or len(text) > SINGLE_LINE_MAX:
            yield Blob(
                parent.location,
                value.decoded,
                parent.encoding + ("base64",) * value.layers,
                anchor=parent.anchor or _position(parent, line, value.start - line_start),
            )
        else:
            placed.append((line, line_start, value))
    cluster: list[tuple[int, int, Value]] = []
    for item in placed:
        if cluster and item[0] - cluster[-1][0] > VIEW_GAP_LINES:
            yield _view(parent, cluster)
            cluster = []
        cluster.append(item)
    if cluster:
        yield _view(parent, cluster)


def _position(parent: Blob, line: int, offset_in_line: int) -> tuple[int, int]:
    column = offset_in_line + 1 + (parent.first_column - 1 if line == 0 else 0)
    return parent.first_line + line, column


def _view(parent: Blob, cluster: list[tuple[int, int, Value]]) -> Blob:
    data = parent.data
    out = bytearray()
    first = cluster[0][0]
    current = first
    for line, group in groupby(cluster, key=lambda item: item[0]):
        out += b"\n" * (line - current)
        current = line
        left: int | None = None
        line_start = 0
        for _, line_start, value in group:
            name = _NAME.match(
                data, max(line_start if left is None else left, value.start - 100), value.start
            )
            kept = data[name.start() : value.start] if name else b""
            if left is None:
                column = value.start - line_start
                out += b" " * (max(0, column - len(kept)) if column <= MAX_PAD else 0)
            else:
                out += b" "
            out += kept + value.decoded.strip(b"\r\n")
            left = value.end
        assert left is not None
        line_end = data.find(b"\n", left)
        parent_line = data[line_start : line_end if line_end != -1 else len(data)]
        for marker in INLINE_ALLOW_MARKERS:  # an allow comment on the parent line holds for the view line
            if marker in parent_line:
                out += b"  # " + marker
                break
    layers = max(value.layers for _, _, value in cluster)
    return Blob(
        parent.location,
        bytes(out) + b"\n",
        parent.encoding + ("base64",) * layers,
        first_line=parent.first_line + first,
        first_column=parent.first_column if first == 0 else 1,
        anchor=parent.anchor,
    )
