"""Named predicates that suppress matches which are not real secrets.

Each filter has a stable name; a suppressed finding carries the name of the filter that fired
(`suppressed_by`), visible with `--show-suppressed`, so nothing disappears without a reason.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import regex

from scanner.rules import Rule

# AWS's own documentation keys, and the family of values AWS docs build from them.
AWS_DOCUMENTATION_VALUES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
        "AKIAI44QH8DHBEXAMPLE",
        "AKIAJEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    }
)

_PLACEHOLDER = regex.compile(
    r"(?i)(?:example|placeholder|changeme|change_me|replace[_-]?me|your[_-]?(?:api[_-]?)?(?:key|token|secret|password)"
    r"|dummy|redacted|insert[_-]?(?:key|token|here)|x{6,}|\*{4,}|^<[^>]*>$|^\[[^\]]*\]$|^(?:none|null|nil|undefined|true|false)$"
    r"|^(?:password|passwd|secret|token|apikey|api_key)$)"
)
_TEMPLATE = regex.compile(
    r"\$\{\{.*?\}\}|\$\{[^}]*\}|\{\{.*?\}\}|^\$[A-Za-z_][A-Za-z0-9_]*$|%\([A-Za-z_]+\)s|<%=?.*?%>|%[A-Za-z_][A-Za-z0-9_]*%"
    r"|\bos\.(?:environ|getenv)\b|\bprocess\.env\b|\bENV\[|\bSystem\.getenv\b|\bgetenv\(|\bsecrets\.[A-Z_]"
)
# snake_case identifiers with an optional number (`factory_order_format-6306`, `request_id_2`): names
# and keys of things, not secrets. Passphrases (`correct-horse-battery`) have no underscores.
_IDENTIFIER = regex.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:[-.][0-9]{1,8})?$")
_SHA1_HEX = regex.compile(r"^(?:[0-9a-f]{40}|[0-9A-F]{40})$")
_SEQUENTIAL = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "1234567890")


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`'s character distribution."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def is_aws_documentation_example(value: str) -> bool:
    return value in AWS_DOCUMENTATION_VALUES or value.upper().endswith(("EXAMPLE", "EXAMPLEKEY"))


def is_placeholder(value: str) -> bool:
    if _PLACEHOLDER.search(value):
        return True
    lowered = value.lower()
    if len(set(lowered)) <= 2 and len(lowered) >= 4:
        return True
    return any(seq in lowered for seq in _SEQUENTIAL)


def is_template_reference(value: str) -> bool:
    return _TEMPLATE.search(value) is not None


def is_identifier_shaped(value: str) -> bool:
    return _IDENTIFIER.match(value) is not None


def is_sha1_hex(value: str) -> bool:
    return _SHA1_HEX.match(value) is not None


@dataclass(frozen=True, slots=True)
class SecretFilter:
    name: str
    applies: Callable[[Rule], bool]
    fires: Callable[[Rule, str], bool]


def _everywhere(_rule: Rule) -> bool:
    return True


def _generic(rule: Rule) -> bool:
    return "generic" in rule.tags


def _generic_or_aws(rule: Rule) -> bool:
    return "generic" in rule.tags or "aws" in rule.tags


def _below_entropy_floor(rule: Rule, value: str) -> bool:
    return rule.entropy is not None and shannon_entropy(value) < rule.entropy


SECRET_FILTERS: tuple[SecretFilter, ...] = (
    SecretFilter("aws-documentation-example", _everywhere, lambda _r, v: is_aws_documentation_example(v)),
    SecretFilter("template-reference", _everywhere, lambda _r, v: is_template_reference(v)),
    SecretFilter("placeholder", _everywhere, lambda _r, v: is_placeholder(v)),
    SecretFilter("sha1-hex", _generic_or_aws, lambda _r, v: is_sha1_hex(v)),
    SecretFilter("identifier-shaped", _generic, lambda _r, v: is_identifier_shaped(v)),
    SecretFilter("low-entropy", _everywhere, _below_entropy_floor),
)

INLINE_ALLOW_MARKERS = (b"keysweep:allow", b"gitleaks:allow", b"pragma: allowlist secret")


def first_filter_that_fires(rule: Rule, value: str) -> str | None:
    """The name of the first filter that suppresses `value` for `rule`, or None."""
    for secret_filter in SECRET_FILTERS:
        if secret_filter.applies(rule) and secret_filter.fires(rule, value):
            return secret_filter.name
    return None


def line_has_inline_allow(data: bytes, offset: int) -> bool:
    """True when the line holding `offset` carries an inline allow comment."""
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    line = data[start : end if end != -1 else len(data)]
    return any(marker in line for marker in INLINE_ALLOW_MARKERS)
