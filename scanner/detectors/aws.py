"""Pair AWS access key ids with their secret access keys, so that a key and its secret are one finding.

A regex finds key ids (`AKIA`/`ASIA`/`ABIA`/`ACCA` + 16 base32 characters) and secrets named by
context (`aws_secret_access_key = ...`). A secret written next to its id without a telling name (a
console CSV export, `AKIA...:secret` in a URL, two positional arguments) is found here, by looking for
a 40-character secret close to each key id. The fingerprint of every AWS key finding is derived from
the key id, so one key found alone in one file and with its secret in another is one finding.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from scanner.engine import RawMatch
from scanner.filters import is_aws_documentation_example, is_sha1_hex, shannon_entropy

KEY_ID_RULES = frozenset({"aws-access-key-id", "aws-sigv4-credential-scope"})
SECRET_RULE = "aws-secret-access-key"
KEY_FAMILY = "aws-access-key"

# How far (bytes) from a key id a secret may stand and still be taken as its pair.
PAIRING_DISTANCE = 600
_BARE_SECRET = regex.compile(rb"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def looks_like_secret_key(value: str) -> bool:
    """A 40-character AWS secret: mixed case and digits or symbols, not hex, not a doc example."""
    if len(value) != 40 or is_sha1_hex(value) or is_aws_documentation_example(value):
        return False
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    has_other = any(c.isdigit() or c in "/+" for c in value)
    return has_upper and has_lower and has_other and shannon_entropy(value) >= 3.5


@dataclass(frozen=True, slots=True)
class Pairing:
    """The secret chosen for a key id match: its offsets and text."""

    start: int
    end: int
    secret: str


def pair_secrets(
    data: bytes, key_ids: list[RawMatch], named_secrets: list[RawMatch]
) -> tuple[dict[int, Pairing], set[int]]:
    """Choose a secret for each key id.

    Returns (pairing by index into key_ids, indexes into named_secrets that were used). A secret
    named by context is preferred; otherwise the nearest bare 40-character secret in the window.
    Each secret pairs with at most one key id: the closest.
    """
    pairings: dict[int, Pairing] = {}
    used: set[int] = set()
    for key_index, key in enumerate(key_ids):
        best: tuple[int, int] | None = None  # (distance, named index)
        for secret_index, named in enumerate(named_secrets):
            if secret_index in used:
                continue
            distance = _distance(key, named.secret_start, named.secret_end)
            if distance <= PAIRING_DISTANCE and (best is None or distance < best[0]):
                best = (distance, secret_index)
        if best is not None:
            named = named_secrets[best[1]]
            used.add(best[1])
            pairings[key_index] = Pairing(
                named.secret_start,
                named.secret_end,
                data[named.secret_start : named.secret_end].decode("latin-1"),
            )
            continue
        window_start = max(0, key.start - PAIRING_DISTANCE)
        window_end = min(len(data), key.end + PAIRING_DISTANCE)
        nearest: tuple[int, Pairing] | None = None
        for candidate in _BARE_SECRET.finditer(data, window_start, window_end):
            value = candidate.group().decode("latin-1")
            if not looks_like_secret_key(value):
                continue
            distance = _distance(key, candidate.start(), candidate.end())
            if nearest is None or distance < nearest[0]:
                nearest = (distance, Pairing(candidate.start(), candidate.end(), value))
        if nearest is not None:
            pairings[key_index] = nearest[1]
    return pairings, used


def _distance(key: RawMatch, start: int, end: int) -> int:
    if end <= key.start:
        return key.start - end
    if start >= key.end:
        return start - key.end
    return 0
