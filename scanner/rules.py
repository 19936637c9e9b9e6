"""Rules are data: TOML files in the `patterns` package (and optionally the user's config).

A rule file holds `[[rules]]` tables with these keys:

    id                 stable key stored in databases and baselines: lowercase words joined by `-`
    name               what a person reads
    severity           critical | high | medium | low | info
    pattern            a regular expression over bytes (Python `regex` syntax that hyperscan also
                       accepts in prefilter mode); the secret is the named group `secret`, else group 1,
                       else the whole match. AWS rules may also name `key_id`.
    keywords           lowercase literals, one of which appears in every match (used for prefiltering
                       when hyperscan is not available, and checked against the examples)
    entropy            optional floor on the Shannon entropy (bits per character) of the secret
    max_span           optional upper bound, in bytes, on a match's length (default 256)
    head               a hyperscan expression that every match begins with, as short as it can be
                       while still telling the rule's matches apart (a PEM `-----BEGIN ... KEY-----`
                       line, a token's prefix and first characters). The prefilter then reports where
                       a match can start and the pattern is run over the max_span bytes after it.
                       Required when max_span is over HEADLESS_SPAN_MAX: reports of where a match
                       ends say nothing local about a 16 KB key, and history scans reuse the
                       prefilter's reports of a file's previous version outside the changed lines
    references         optional URLs documenting the format
    examples           strings the rule must match (at least one)
    negative_examples  strings the rule must not report
    description        optional longer help text (SARIF help, `keysweep rules`)
    default_enabled    optional, default true: noisy rules may ship disabled and be enabled by config

Ids are validated at load; a rule that does not compile or has no example fails the load with
its file and id named, so a broken rule never silently disappears.
"""

from __future__ import annotations

import functools
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import regex

from scanner.model import Severity

RULE_ID = regex.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DEFAULT_MAX_SPAN = 256
# Rules whose matches can be longer than this need a `head` (see above).
HEADLESS_SPAN_MAX = 1024
_KNOWN_KEYS = {
    "id",
    "name",
    "severity",
    "pattern",
    "keywords",
    "entropy",
    "max_span",
    "head",
    "references",
    "examples",
    "negative_examples",
    "description",
    "default_enabled",
    "tags",
}


class RuleError(Exception):
    """A rule file or rule is invalid. The message names the file and the rule id."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    severity: Severity
    pattern: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...]
    negative_examples: tuple[str, ...] = ()
    entropy: float | None = None
    max_span: int = DEFAULT_MAX_SPAN
    references: tuple[str, ...] = ()
    description: str = ""
    default_enabled: bool = True
    tags: tuple[str, ...] = ()
    file: str = ""
    head: str = ""

    def compiled(self) -> regex.Pattern[bytes]:
        return _compile(self.pattern)

    @property
    def secret_group(self) -> str | int:
        """Which group of a match is the secret: `secret`, else group 1, else the whole match."""
        pattern = self.compiled()
        if "secret" in pattern.groupindex:
            return "secret"
        return 1 if pattern.groups >= 1 else 0


_COMPILED: dict[str, regex.Pattern[bytes]] = {}


def _compile(pattern: str) -> regex.Pattern[bytes]:
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        compiled = regex.compile(pattern.encode(), regex.VERSION0)
        _COMPILED[pattern] = compiled
    return compiled


def _tuple_of_str(value: Any, what: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where}: `{what}` must be a list of strings.")
    return tuple(value)


def rule_from_table(table: Mapping[str, Any], file: str, *, compile_pattern: bool = True) -> Rule:
    """Build and validate one rule. Raises RuleError naming the file and rule id.

    `compile_pattern=False` defers the check that the pattern compiles to `check_patterns` (the
    built-in rules, proven by the test suite, are compiled when the prefilter database is rebuilt).
    """
    rule_id = table.get("id")
    where = f"{file}: rule {rule_id!r}" if rule_id else f"{file}: a rule without an id"
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise RuleError(f"{where}: `id` must be lowercase words joined by '-' (e.g. 'github-pat').")
    unknown = set(table) - _KNOWN_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}.")
    for required in ("name", "severity", "pattern"):
        if not isinstance(table.get(required), str) or not table[required]:
            raise RuleError(f"{where}: `{required}` is required and must be a non-empty string.")
    try:
        severity = Severity(table["severity"])
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise RuleError(f"{where}: severity {table['severity']!r} is not one of {choices}.") from None
    if compile_pattern:
        try:
            _compile(table["pattern"])
        except regex.error as exc:
            raise RuleError(f"{where}: the pattern does not compile: {exc}.") from None
    examples = _tuple_of_str(table.get("examples"), "examples", where)
    if not examples:
        raise RuleError(f"{where}: every rule needs at least one entry in `examples`.")
    keywords = tuple(k.lower() for k in _tuple_of_str(table.get("keywords"), "keywords", where))
    if not keywords:
        raise RuleError(f"{where}: every rule needs at least one keyword for prefiltering.")
    entropy = table.get("entropy")
    if entropy is not None and not isinstance(entropy, int | float):
        raise RuleError(f"{where}: `entropy` must be a number of bits per character.")
    max_span = table.get("max_span", DEFAULT_MAX_SPAN)
    if not isinstance(max_span, int) or max_span <= 0:
        raise RuleError(f"{where}: `max_span` must be a positive number of bytes.")
    head = table.get("head", "")
    if not isinstance(head, str):
        raise RuleError(f"{where}: `head` must be a string (a hyperscan expression).")
    if max_span > HEADLESS_SPAN_MAX and not head:
        raise RuleError(
            f"{where}: a rule with max_span over {HEADLESS_SPAN_MAX} needs a `head`: the expression every "
            "match begins with (see scanner/rules.py)."
        )
    return Rule(
        id=rule_id,
        name=table["name"],
        severity=severity,
        pattern=table["pattern"],
        keywords=keywords,
        examples=examples,
        negative_examples=_tuple_of_str(table.get("negative_examples"), "negative_examples", where),
        entropy=float(entropy) if entropy is not None else None,
        max_span=max_span,
        references=_tuple_of_str(table.get("references"), "references", where),
        description=str(table.get("description", "")),
        default_enabled=bool(table.get("default_enabled", True)),
        tags=_tuple_of_str(table.get("tags"), "tags", where),
        file=file,
        head=head,
    )


def rules_from_toml(text: str, file: str, *, compile_patterns: bool = True) -> list[Rule]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{file}: not valid TOML: {exc}.") from None
    tables = document.get("rules", [])
    if not isinstance(tables, list):
        raise RuleError(f"{file}: `rules` must be an array of tables ([[rules]]).")
    return [rule_from_table(table, file, compile_pattern=compile_patterns) for table in tables]


def check_unique(rules: Iterable[Rule]) -> None:
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"{rule.file}: rule {rule.id!r} is already defined in {seen[rule.id]}.")
        seen[rule.id] = rule.file


def builtin_rule_files() -> list[tuple[str, str]]:
    """(file name, text) of every rule file shipped in the `patterns` package, in name order."""
    package = resources.files("patterns")
    files = sorted((p for p in package.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name)
    return [(f"patterns/{p.name}", p.read_text(encoding="utf-8")) for p in files]


@functools.cache
def _builtin_rules() -> tuple[Rule, ...]:
    """Parsed from the rule files, or from the rule cache (`scanner.rulecache`) when neither these
    files nor this module changed since a run parsed them (the TOML costs a CI step ~25 ms)."""
    from scanner.rulecache import cached

    files = builtin_rule_files()

    def parse() -> tuple[Rule, ...]:
        rules: list[Rule] = []
        for name, text in files:
            rules.extend(rules_from_toml(text, name, compile_patterns=False))
        check_unique(rules)
        return tuple(rules)

    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name, text in files:
        digest.update(f"\0{name}\0{len(text)}\0{text}".encode())
    data = cached("builtin-rules", digest.hexdigest()[:32], lambda: _rules_to_json(parse()), ".json")
    try:
        return _rules_from_json(data)
    except (ValueError, TypeError, KeyError, AttributeError):  # a damaged cache file: parse again
        return parse()


def _rules_to_json(rules: Iterable[Rule]) -> bytes:
    return json.dumps([{f.name: getattr(rule, f.name) for f in fields(Rule)} for rule in rules]).encode()


def _rules_from_json(data: bytes) -> tuple[Rule, ...]:
    rules = []
    for table in json.loads(data):
        values: dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value for key, value in table.items()
        }
        values["severity"] = Severity(values["severity"])
        rules.append(Rule(**values))
    return tuple(rules)


def load_builtin_rules() -> list[Rule]:
    """The shipped rules. Their patterns compile lazily; `check_patterns` validates them all."""
    return list(_builtin_rules())


def check_patterns(rules: Iterable[Rule]) -> None:
    """Compile every rule's pattern; raise RuleError naming the first that fails (file and id)."""
    for rule in rules:
        try:
            _compile(rule.pattern)
        except regex.error as exc:
            raise RuleError(f"{rule.file}: rule {rule.id!r}: the pattern does not compile: {exc}.") from None


def load_rule_file(path: Path) -> list[Rule]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read the rule file: {exc.strerror}.") from None
    return rules_from_toml(text, str(path))
