"""The matching engine: pure, bytes in, matches out. No disk, network, clock or database.

All enabled rules are compiled once into one hyperscan database in prefilter mode, which reports
(for every rule) at least every offset where a real match can end, in a single pass whatever the
number of rules. Only around those offsets is the rule's real `regex` pattern run, so the cost of a
scan is one hyperscan pass plus work proportional to the hits.

Without hyperscan (an unsupported platform) the engine falls back to a keyword prefilter: a single
case-insensitive alternation of every rule's keywords, then each candidate rule over the blob.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import regex

from scanner.rules import HEADLESS_SPAN_MAX, Rule, RuleError

try:  # pragma: no cover - exercised implicitly on platforms with hyperscan
    import hyperscan

    HAVE_HYPERSCAN = True
except ImportError:  # pragma: no cover
    hyperscan = None  # type: ignore[assignment]
    HAVE_HYPERSCAN = False

# Extra bytes searched past the last reported end offset: harmless (regex confirms) and it keeps a
# match whole when the prefilter's approximation ends a little early.
_WINDOW_SLACK = 64
_NAMED_GROUP = regex.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_NAMED_BACKREF = regex.compile(r"\(\?P=[A-Za-z_][A-Za-z0-9_]*\)")


@dataclass(frozen=True, slots=True)
class RawMatch:
    """A confirmed match of one rule: byte offsets in the blob and the secret's span."""

    rule_index: int
    start: int
    end: int
    secret_start: int
    secret_end: int
    line: int
    column: int
    groups: tuple[tuple[str, bytes], ...] = ()

    def group(self, name: str) -> bytes | None:
        for key, value in self.groups:
            if key == name:
                return value
        return None


# Per rule index: the merged byte windows where its matches can lie.
Windows = dict[int, list[tuple[int, int]]]

# Bounded repeats larger than this are relaxed in the prefilter (see relax_repeats).
_REPEAT_CAP = 32
_REPEAT = regex.compile(r"\{(\d+)(?:(,)(\d*))?\}\??")


def relax_repeats(pattern: str, cap: int = _REPEAT_CAP) -> str:
    """Rewrite `X{n,m}` with large bounds as `X{min(n, cap),}` (and drop lazy markers).

    Large bounded repeats (a PEM body `{58,16000}`) make hyperscan's automata explode at compile
    time. The prefilter only has to report a superset of the places where real matches can end,
    and `X{k,}` with k <= n matches everything `X{n,m}` does, so the relaxed expression is a sound
    prefilter; `regex` still confirms the exact pattern inside the window.
    """
    out: list[str] = []
    index = 0
    in_class = False
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
            index += 1
            continue
        if char == "[":
            in_class = True
            out.append(char)
            index += 1
            if index < length and pattern[index] == "^":
                out.append("^")
                index += 1
            if index < length and pattern[index] == "]":
                out.append("]")
                index += 1
            continue
        if char == "{":
            match = _REPEAT.match(pattern, index)
            if match:
                low = int(match.group(1))
                high = match.group(3)
                upper = low if match.group(2) is None else (int(high) if high else None)
                if upper is None or upper > cap or low > cap:
                    out.append(f"{{{min(low, cap)},}}")
                else:
                    out.append(match.group(0).rstrip("?"))
                index = match.end()
                continue
        out.append(char)
        index += 1
    return "".join(out)


def to_hyperscan(pattern: str) -> bytes:
    """The prefilter expression for a rule: hyperscan's syntax, large repeats relaxed."""
    converted = _NAMED_GROUP.sub(r"(?<\1>", pattern)
    converted = _NAMED_BACKREF.sub("", converted)
    return relax_repeats(converted).encode()


def prefilter_expression(rule: Rule) -> bytes:
    """What the hyperscan database holds for a rule: its head, else its pattern (see to_hyperscan)."""
    return rule.head.encode() if rule.head else to_hyperscan(rule.pattern)


def rules_digest(rules: Sequence[Rule]) -> str:
    """Identifies a compiled database: changes whenever any pattern or the rule order changes."""
    digest = hashlib.sha256()
    for rule in rules:
        digest.update(
            rule.id.encode() + b"\x00" + rule.pattern.encode() + b"\x01" + rule.head.encode() + b"\x02"
        )
    if HAVE_HYPERSCAN:
        digest.update(b"hyperscan")
    return digest.hexdigest()[:32]


# An extra pattern riding on the rules' pass: (hyperscan expression, True for HS_FLAG_SINGLEMATCH).
# Its reports go to `PrefilterHits.extra_ends`, not to any rule (see Engine.prefilter).
ExtraPattern = tuple[bytes, bool]
# Every report ending at an offset depends on at most this many bytes before it: rules without a
# head match at most HEADLESS_SPAN_MAX bytes, heads and extra patterns far less (see scanner.rules).
HIT_CONTEXT = HEADLESS_SPAN_MAX + 64
# ... and on at most this many after it (`\b`, `$`).
HIT_LOOKAHEAD = 16


# Extra patterns' reports kept per blob (a file made of escapes or base64 reports millions).
MAX_EXTRA_REPORTS = 100_000


@dataclass(slots=True)
class PrefilterHits:
    """One blob's prefilter reports: per rule index the ascending end offsets; (extra pattern
    position, end) of the extra patterns', in report order (the first MAX_EXTRA_REPORTS:
    `truncated` says when there were more)."""

    rule_ends: dict[int, list[int]] = field(default_factory=dict)
    extra_ends: list[tuple[int, int]] = field(default_factory=list)
    truncated: bool = False
    size: int = 0  # of the data scanned


def extras_digest(extras: Sequence[ExtraPattern]) -> str:
    return hashlib.sha256(repr(tuple(extras)).encode()).hexdigest()[:16]


def compile_database(rules: Sequence[Rule], extras: Sequence[ExtraPattern] = ()) -> bytes:
    """Compile every rule, then the extra patterns, into one serialised hyperscan database. Names
    the rule that fails."""
    assert hyperscan is not None
    expressions = [prefilter_expression(rule) for rule in rules] + [expression for expression, _ in extras]
    flags = [hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_ALLOWEMPTY] * len(rules) + [
        hyperscan.HS_FLAG_SINGLEMATCH if single else 0 for _, single in extras
    ]
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(
            expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions), flags=flags
        )
    except hyperscan.error:
        for rule, expression in zip(rules, expressions, strict=True):
            single = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            try:
                single.compile(expressions=[expression], ids=[0], elements=1, flags=[flags[0]])
            except hyperscan.error as exc:
                raise RuleError(
                    f"{rule.file}: rule {rule.id!r}: the multi-pattern prefilter cannot compile it: {exc}."
                ) from None
        raise
    return bytes(hyperscan.dumpb(database))


class Engine:
    """Scans bytes with a fixed set of rules. Build once per process; `scan` is re-entrant per thread."""

    def __init__(
        self, rules: Sequence[Rule], database: bytes | None = None, extras: Sequence[ExtraPattern] = ()
    ) -> None:
        """`database`: compiled by `compile_database(rules, extras)` with the same arguments (None:
        compile here). `extras`: patterns scanned in the same pass for `first_pass` callers."""
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.extras: tuple[ExtraPattern, ...] = tuple(extras) if HAVE_HYPERSCAN else ()
        # Patterns compile on a rule's first prefilter hit: most rules never hit in a given scan.
        self._patterns: list[regex.Pattern[bytes] | None] = [None] * len(self.rules)
        self._secret_groups: list[str | int] = [0] * len(self.rules)
        self._group_names: list[tuple[str, ...]] = [()] * len(self.rules)
        # a window runs from `back` bytes before a report's end to `forward` bytes after it
        self._back = [HEADLESS_SPAN_MAX if rule.head else rule.max_span for rule in self.rules]
        self._forward = [rule.max_span + _WINDOW_SLACK if rule.head else _WINDOW_SLACK for rule in self.rules]
        self._database = None
        self._keyword_index: regex.Pattern[bytes] | None = None
        self._keyword_rules: dict[bytes, list[int]] = {}
        if not self.rules:
            return
        if HAVE_HYPERSCAN:
            blob = database if database is not None else compile_database(self.rules, self.extras)
            self._database = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
            self._database.scratch = hyperscan.Scratch(self._database)
        else:  # pragma: no cover
            self._build_keyword_index()

    def _compile(self, rule_index: int) -> regex.Pattern[bytes]:
        rule = self.rules[rule_index]
        pattern = rule.compiled()
        self._patterns[rule_index] = pattern
        self._secret_groups[rule_index] = rule.secret_group
        self._group_names[rule_index] = tuple(pattern.groupindex)
        return pattern

    def _build_keyword_index(self) -> None:
        for index, rule in enumerate(self.rules):
            for keyword in rule.keywords:
                self._keyword_rules.setdefault(keyword.encode(), []).append(index)
        alternation = b"|".join(regex.escape(k) for k in sorted(self._keyword_rules, key=len, reverse=True))
        self._keyword_index = regex.compile(b"(?i)(?:" + alternation + b")")

    @property
    def has_extras(self) -> bool:
        """The database holds the extra patterns (hyperscan present, built with them)."""
        return self._database is not None and bool(self.extras)

    def prefilter(self, data: bytes, ranges: Sequence[tuple[int, int]] | None = None) -> PrefilterHits:
        """Every prefilter report in `data`: per rule the ends of its reports, and (position, end) of
        each extra pattern's. `ranges`: only reports ending within these (first, last) end offsets,
        each range scanned from HIT_CONTEXT bytes before it (ascending, not overlapping)."""
        assert self._database is not None
        hits = PrefilterHits(size=len(data))
        ends = hits.rule_ends
        extras = hits.extra_ends
        rule_count = len(self.rules)
        low, high, shift = 0, len(data), 0

        def on_match(index: int, _from: int, to: int, _flags: int, _context: object) -> None:
            to += shift
            if to < low or to > high:
                return
            if index >= rule_count:
                if len(extras) < MAX_EXTRA_REPORTS:
                    extras.append((index - rule_count, to))
                else:
                    hits.truncated = True
                return
            bucket = ends.get(index)
            if bucket is None:
                ends[index] = [to]
            else:
                bucket.append(to)

        if ranges is None:
            self._database.scan(data, match_event_handler=on_match)
            return hits
        for low, high in ranges:
            shift = max(0, low - HIT_CONTEXT)
            self._database.scan(data[shift : high + HIT_LOOKAHEAD], match_event_handler=on_match)
        return hits

    def windows_of(self, rule_ends: dict[int, list[int]]) -> Windows:
        """The merged windows around each rule's report ends (ascending): before an end for a rule
        whose pattern is reported where it ends, after it for a rule with a `head`."""
        windows: Windows = {}
        for rule_index, offsets in rule_ends.items():
            back, forward = self._back[rule_index], self._forward[rule_index]
            merged: list[tuple[int, int]] = []
            for end in offsets:
                start = max(0, end - back)
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], end + forward)
                else:
                    merged.append((start, end + forward))
            windows[rule_index] = merged
        return windows

    def candidate_windows(self, data: bytes) -> Windows:
        """For each rule that may match, the merged byte windows where its matches can lie."""
        if self._database is not None:
            return self.windows_of(self.prefilter(data).rule_ends)
        assert self._keyword_index is not None  # pragma: no cover
        candidates: set[int] = set()  # pragma: no cover
        for hit in self._keyword_index.finditer(data):  # pragma: no cover
            candidates.update(self._keyword_rules.get(hit.group().lower(), ()))
        return {index: [(0, len(data))] for index in candidates}  # pragma: no cover

    def scan(
        self, data: bytes, first_line: int = 1, first_column: int = 1, windows: Windows | None = None
    ) -> list[RawMatch]:
        """Every confirmed match of every rule in `data`, ordered by offset. `windows`: from
        `windows_of` over this very `data`'s reports (saves the prefilter pass)."""
        if not self.rules or not data:
            return []
        if windows is None:
            windows = self.candidate_windows(data)
        if not windows:
            return []
        found: dict[tuple[int, int, int], regex.Match[bytes]] = {}
        size = len(data)
        for rule_index, spans in windows.items():
            pattern = self._patterns[rule_index] or self._compile(rule_index)
            for start, end in spans:
                for match in pattern.finditer(data, start, min(end, size)):
                    if match.end() == match.start():
                        continue
                    found.setdefault((match.start(), match.end(), rule_index), match)
        if not found:
            return []
        return self._to_raw(data, found, first_line, first_column)

    def _to_raw(
        self,
        data: bytes,
        found: dict[tuple[int, int, int], regex.Match[bytes]],
        first_line: int,
        first_column: int,
    ) -> list[RawMatch]:
        newlines = _LineIndex(data)
        results: list[RawMatch] = []
        for (start, end, rule_index), match in sorted(found.items(), key=lambda item: item[0]):
            group = self._secret_groups[rule_index]
            secret_start, secret_end = match.span(group)
            if secret_start < 0:  # the secret group did not take part in this match
                secret_start, secret_end = start, end
            line, column = newlines.position(secret_start)
            if line == 0:
                column += first_column - 1
            names = self._group_names[rule_index]
            groups = tuple((name, match.group(name)) for name in names if match.group(name) is not None)
            results.append(
                RawMatch(
                    rule_index=rule_index,
                    start=start,
                    end=end,
                    secret_start=secret_start,
                    secret_end=secret_end,
                    line=first_line + line,
                    column=column,
                    groups=groups,
                )
            )
        return results


class _LineIndex:
    """Line (0-based offset from the blob's first line) and 1-based column of byte offsets.

    Offsets arrive nearly in increasing order, so lines are counted incrementally from the previous
    offset with `bytes.count` (C speed) rather than by indexing every newline of a large blob.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0
        self._line = 0

    def position(self, offset: int) -> tuple[int, int]:
        data = self._data
        if offset >= self._offset:
            self._line += data.count(b"\n", self._offset, offset)
        else:
            self._line = data.count(b"\n", 0, offset)
        self._offset = offset
        return self._line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1
