"""What an AWS access key id says by itself, offline: its kind and, for ids issued since ~2019, the account.

The account decoding is the published method (Aidan Steele, "AWS Access Key ID formats", awsteele.com,
2020; Tal Be'ery, "A short note on AWS KEY ID", 2023; WithSecure Labs, "A bitwise analysis of AWS access
key identifiers", 2023): after the four-character prefix, the id is base32 (alphabet A-Z2-7); decode it,
take the first six bytes as a big-endian integer, mask with 0x7FFFFFFFFF80 and shift right by 7. The
highest bit of that integer (the first character after the prefix being Q-Z or 2-7) marks the newer
format; older ids (`AKIAI…`, `AKIAJ…`) carry no account we know how to read, so they say so and only
`sts:GetAccessKeyInfo` can tell their account.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

# Prefixes of access key ids (IAM "unique identifier" prefixes).
KEY_KINDS = {
    "AKIA": "long-term access key (IAM user or root)",
    "ASIA": "temporary access key (STS)",
    "ABIA": "STS service bearer token",
    "ACCA": "context-specific credential",
}
KEY_ID = re.compile(r"^(AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}$")
_MASK = 0x7FFFFFFFFF80
_NEW_FORMAT_BIT = 1 << 47


@dataclass(frozen=True, slots=True)
class KeyIdInfo:
    key_id: str
    prefix: str
    kind: str
    account_id: str | None  # decoded offline, None when the id does not carry it
    note: str | None = None  # why there is no account


def is_key_id(text: str) -> bool:
    return bool(KEY_ID.match(text))


def decode_key_id(key_id: str) -> KeyIdInfo:
    """The kind and (when the format allows) the account of `key_id`. Never raises, never calls AWS."""
    key_id = key_id.strip().upper()
    prefix = key_id[:4]
    kind = KEY_KINDS.get(prefix, "unknown kind")
    if not KEY_ID.match(key_id):
        return KeyIdInfo(
            key_id, prefix, kind, None, "not an AWS access key id (AKIA/ASIA/ABIA/ACCA + 16 base32)"
        )
    try:
        raw = base64.b32decode(key_id[4:])
    except (binascii.Error, ValueError):  # pragma: no cover - the regex admits only base32
        return KeyIdInfo(key_id, prefix, kind, None, "the key id is not base32")
    value = int.from_bytes(raw[:6], "big")
    if not value & _NEW_FORMAT_BIT:
        return KeyIdInfo(
            key_id,
            prefix,
            kind,
            None,
            "older key id format (before about 2019): the account is not encoded in it and cannot be "
            "decoded offline; only sts:GetAccessKeyInfo can tell it",
        )
    account = (value & _MASK) >> 7
    return KeyIdInfo(key_id, prefix, kind, f"{account:012d}")
