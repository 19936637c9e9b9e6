"""URL-encoded text: query strings, form bodies in logs, credentials in `.npmrc`/`.pypirc` URLs.

Around each %XX escape the gate found, the segment is the stretch of characters a URL or form body can
hold (it stops at whitespace, quotes, brackets); it is percent-decoded (twice at most, for %253D) and,
when the decoded text looks like assignments (`=`, or an escaped `:`), handed to the engine anchored at
the segment. `+` is left alone: in secrets it is far more often a literal `+` than a form-encoded space.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote_to_bytes

import regex

from scanner.decode.b64 import Caps
from scanner.model import Blob

MAX_SIDE = 4096  # bytes of a segment taken on either side of an escape

_SEGMENT = rb"[^\s\x22'<>`(){}\[\]|\\]"
_BACK = regex.compile(rb"(?r)" + _SEGMENT + rb"*")
_FORWARD = regex.compile(_SEGMENT + rb"*")
_ESCAPE = re.compile(rb"%(?:2[2567BbCcFf]|3[AaDd]|40|7[BbDd])")


def url_blobs(parent: Blob, positions: list[int], caps: Caps) -> Iterator[Blob]:
    data = parent.data
    covered = -1
    line = 0
    previous = 0
    for position in positions:
        if position < covered:
            continue
        if caps.segments <= 0 or caps.decoded <= 0:
            caps.reached("the cap on URL-encoded segments per file")
            return
        back = _BACK.match(data, max(0, position - MAX_SIDE), position)
        start = back.start() if back else position
        forward = _FORWARD.match(data, position, min(len(data), position + MAX_SIDE))
        end = forward.end() if forward else position
        covered = end
        raw = data[start:end]
        decoded = unquote_to_bytes(raw)
        layers = 1
        if _ESCAPE.search(decoded):
            decoded = unquote_to_bytes(decoded)
            layers = 2
        if b"=" not in decoded and not re.search(rb"%3[Aa]", raw):
            continue
        caps.segments -= 1
        caps.decoded -= len(decoded)
        line += data.count(b"\n", previous, start)
        previous = start
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        if line == 0:
            column += parent.first_column - 1
        anchor = parent.anchor or (parent.first_line + line, column)
        yield Blob(parent.location, decoded, parent.encoding + ("url",) * layers, anchor=anchor)
