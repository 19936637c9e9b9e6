"""One fast pass over a text blob that says where decoding could pay off.

Looking for every run of base64 characters is too slow for the hot path: source code is full of long
identifiers, hashes and paths, and a character-class scan ran at about 600 MB/s (measured on 113 MB of
code, JSON, lockfiles and CSS), slower than the rule engine itself. So the gate only uses patterns with
literals in them, which hyperscan scanned at 1.2 GB/s (source code) to 3 GB/s (mixed data), and answers
three questions:

- `pct`: offsets of %XX escapes of characters that matter in query strings and form bodies;
- `inner` and `starts`: offsets inside, and starts of, base64 runs worth decoding, found by the base64
  spelling of a telltale word (`secret`, `password`, `AKIA`, `ghp_`, `-----BEGIN` ... at each of the
  three alignments a word can have inside base64), or by a secret-like name assigned a long run
  (`AWS_SECRET_ACCESS_KEY: <run>`, `"auth": "<run>"`, `DB_PASSWORD=<run>`);
- `marker`: the blob says it decodes base64 (`kind: Secret`, `base64 -d`, `atob(`, `b64decode`,
  `.dockerconfigjson`; a mere `import base64` or an image's `data:` URI does not count). Only then
  are all runs of 20 or more base64 characters looked at (`add_runs`), which catches values under
  names that tell nothing (`DATABASE_URL: <run>`).

A bare base64 value under an uninformative name in a file without any marker is the one case left out,
by design: decoded, such a value could only be recognised by a self-identifying rule, whose prefixes are
among the telltale words.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable
from typing import Any

try:  # pragma: no cover - exercised implicitly where hyperscan is installed
    import hyperscan

    HAVE_HYPERSCAN = True
except ImportError:  # pragma: no cover
    hyperscan = None  # type: ignore[assignment]
    HAVE_HYPERSCAN = False

# Hits recorded per blob before the gate stops looking (a blob made of escapes or base64 only).
MAX_GATE_HITS = 20_000
# A context hit reports this many run characters past the assignment (the run starts that far back).
CONTEXT_RUN = 20
# Shortest run the marker-triggered scan reports (20 characters decode to 15 bytes).
RUN_MIN = 20

PCT, TELLTALE, CONTEXT, MARKER = 0, 1, 2, 3

# Words whose base64 spelling betrays an encoded secret or configuration (case variants are added).
TELLTALE_WORDS = (
    "secret",
    "password",
    "passwd",
    "token",
    "credential",
    "private_key",
    "private key",
    "access_key",
    "api_key",
    "apikey",
    "client_secret",
    "auths",
    "aws_access",
)
# Prefixes of self-identifying credentials, spelled exactly (base64 keeps case).
TOKEN_PREFIXES = (
    "AKIA",
    "ASIA",
    "ABIA",
    "ACCA",
    "-----BEGIN",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xapp-",
    "sk_live_",
    "rk_live_",
    "sk-ant-",
    "sk-proj-",
    "AIza",
    "npm_",
    "pypi-",
    "dop_v1_",
    "shpat_",
    "hooks.slack.com",
)

_CONTEXT = (
    rb"(?i)(?:secret|passw|pwd|token|auth|cred|key|b64|base64)[\w.\-]{0,40}[\x22'`]?[ \t]*"
    rb"(?:[:=]|=>|:=)[ \t]*[\x22'`]?[A-Za-z0-9+/_\-]{%d}" % CONTEXT_RUN
)
_MARKER = (
    rb"(?i)(?:base64[ \t]+(?:-d|--decode)|b64decode|atob\(|frombase64string|base64\.decode|base64\.getdecoder"
    rb"|base64decode|decodebase64|base64_decode|kind:[ \t]*[\x22']?secret|\x22kind\x22:[ \t]*\x22secret"
    rb"|dockerconfigjson|dockercfg)"
)
_PCT = rb"%(?:2[2567BbCcFf]|3[AaDd]|40|7[BbDd])"

# A maximal run of base64 characters followed by its end: one report per run, whatever its length.
_RUN = rb"[A-Za-z0-9+/_\-]{%d,}={0,2}(?:[^A-Za-z0-9+/_=\-]|\z)" % RUN_MIN
_RUN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-=")


def base64_cores(word: bytes, minimum: int) -> set[bytes]:
    """The base64 characters fully determined by `word`, at each of the three byte alignments."""
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\x00" * shift + word)
        core = encoded[(shift * 8 + 5) // 6 : (shift + len(word)) * 8 // 6]
        if len(core) >= minimum:
            cores.add(core)
            if b"+" in core or b"/" in core:
                cores.add(core.translate(bytes.maketrans(b"+/", b"-_")))
    return cores


def _case_variants(word: str) -> set[str]:
    parts = re.split(r"[_ ]", word)
    camel = parts[0] + "".join(p.capitalize() for p in parts[1:])
    return {word, word.upper(), word.capitalize(), camel, camel[:1].upper() + camel[1:]}


def telltale_literals() -> list[bytes]:
    literals: set[bytes] = set()
    for word in TELLTALE_WORDS:
        for variant in _case_variants(word):
            literals |= base64_cores(variant.encode(), 5)
    for prefix in TOKEN_PREFIXES:
        literals |= base64_cores(prefix.encode(), 4)
    return sorted(literals)


class Hits:
    """What the gate found in one blob."""

    __slots__ = ("inner", "left", "marker", "pct", "starts", "truncated")

    def __init__(self) -> None:
        self.pct: list[int] = []  # offsets of '%'
        self.inner: list[int] = []  # offsets inside base64 runs (telltales)
        self.starts: list[int] = []  # offsets where base64 runs start (after a name, or any run)
        self.marker = False
        self.truncated = False  # MAX_GATE_HITS reached: the rest of the blob was not looked at
        self.left = MAX_GATE_HITS

    def __bool__(self) -> bool:
        return bool(self.inner or self.starts or self.pct or self.marker)


def _on_run(_kind: int, start: int, end: int, _flags: int, runs: Any) -> bool:
    runs.append((start, end))
    return len(runs) >= MAX_GATE_HITS


def _padded_starts(data: bytes, runs: list[tuple[int, int]], hits: Hits) -> None:
    """Keep the runs whose length (padding included) is a multiple of 4, as encoders write them.

    Only for the marker-triggered scan: three in four identifiers and paths fail this, while values
    meant for `base64 -d`, `b64decode` or a Secret's `data:` are padded. Unpadded values under a
    secret-like name still come through the gate's context pattern.
    """
    size = len(data)
    for start, end in runs:
        if end < size or data[end - 1] not in _RUN_BYTES:
            end -= 1  # the match ends with the character after the run
        if (end - start) % 4 == 0:
            hits.starts.append(start)
    if len(runs) >= MAX_GATE_HITS:
        hits.truncated = True


def _on_match(kind: int, _start: int, end: int, _flags: int, hits: Any) -> bool:
    if kind == TELLTALE:
        hits.inner.append(end - 1)
    elif kind == PCT:
        hits.pct.append(end - 3)
    elif kind == CONTEXT:
        hits.starts.append(end - CONTEXT_RUN)
    else:
        hits.marker = True
        return False
    hits.left -= 1
    if hits.left <= 0:
        hits.truncated = True
        return True
    return False


def gate_patterns() -> list[tuple[bytes, int, bool]]:
    """(hyperscan expression, kind, single-match) of every gate pattern.

    Kept as data so that the gate can one day ride on the engine's own hyperscan pass: appended to the
    rules' database these patterns cost nothing measurable, where a separate pass costs a third of it.
    """
    fixed = [(_PCT, PCT, False), (_CONTEXT, CONTEXT, False), (_MARKER, MARKER, True)]
    return fixed + [(re.escape(literal), TELLTALE, False) for literal in telltale_literals()]


@functools.cache
def engine_extras() -> tuple[tuple[bytes, bool], ...]:
    """The gate's patterns as extra patterns of the rules' hyperscan database (`scanner.firstpass`):
    a top-level blob then costs one pass, not two. Same order as the gate's own; every report of the
    marker is kept (not only the first), so that a later version of the file knows whether one is
    left after an edit."""
    return tuple((expression, False) for expression, _, _ in gate_patterns())


def _cached_database(name: str, expressions: list[bytes], ids: list[int], flags: list[int]) -> Any:
    """A compiled hyperscan database, kept in the rule cache directory (compiling costs ~0.3 s)."""
    import hashlib

    from scanner.rulecache import cached

    assert hyperscan is not None
    digest = hashlib.sha256(repr((expressions, ids, flags)).encode()).hexdigest()[:32]

    def build() -> bytes:
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        database.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags)
        return bytes(hyperscan.dumpb(database))

    try:
        database = hyperscan.loadb(cached(name, digest, build), hyperscan.HS_MODE_BLOCK)
    except hyperscan.error:  # a cache written by another hyperscan build
        database = hyperscan.loadb(build(), hyperscan.HS_MODE_BLOCK)
    database.scratch = hyperscan.Scratch(database)
    return database


class Gate:
    """The compiled gate (build once per process)."""

    def __init__(self) -> None:
        self._patterns = gate_patterns()
        self._kinds = [kind for _, kind, _ in self._patterns]
        self._scan: Callable[[bytes, Hits], None]
        self._runs: Callable[[bytes, Hits], None]
        if HAVE_HYPERSCAN:
            self._build_hyperscan()
        else:
            self._build_regex()

    def _build_hyperscan(self) -> None:
        assert hyperscan is not None
        expressions = [expression for expression, _, _ in self._patterns]
        ids = [kind for _, kind, _ in self._patterns]
        flags = [hyperscan.HS_FLAG_SINGLEMATCH if single else 0 for _, _, single in self._patterns]
        database = _cached_database("decode-gate", expressions, ids, flags)

        def scan(data: bytes, hits: Hits) -> None:
            try:  # noqa: SIM105 - contextlib.suppress costs a microsecond per blob on the hot path
                database.scan(data, match_event_handler=_on_match, context=hits)
            except hyperscan.ScanTerminated:
                pass  # MAX_GATE_HITS reached; `truncated` says so

        runs = _cached_database("decode-runs", [_RUN], [0], [hyperscan.HS_FLAG_SOM_LEFTMOST])

        def add_runs(data: bytes, hits: Hits) -> None:
            found: list[tuple[int, int]] = []
            try:  # noqa: SIM105 - see scan
                runs.scan(data, match_event_handler=_on_run, context=found)
            except hyperscan.ScanTerminated:
                pass
            _padded_starts(data, found, hits)

        self._scan = scan
        self._runs = add_runs

    def _build_regex(self) -> None:
        """The same gate with `regex`, for platforms without hyperscan (slower, same answers)."""
        import regex

        pct = regex.compile(_PCT)
        context = regex.compile(_CONTEXT)
        marker = regex.compile(_MARKER)
        literals = regex.compile(
            b"|".join(expression for expression, kind, _ in self._patterns if kind == TELLTALE)
        )
        run = regex.compile(_RUN)

        def scan(data: bytes, hits: Hits) -> None:
            hits.pct.extend(m.start() for m in pct.finditer(data))
            hits.inner.extend(m.end() - 1 for m in literals.finditer(data))
            hits.starts.extend(m.end() - CONTEXT_RUN for m in context.finditer(data))
            hits.marker = marker.search(data) is not None

        def add_runs(data: bytes, hits: Hits) -> None:
            found = [match.span() for match in run.finditer(data)]
            _padded_starts(data, found[:MAX_GATE_HITS], hits)

        self._scan = scan
        self._runs = add_runs

    def scan(self, data: bytes) -> Hits:
        hits = Hits()
        self._scan(data, hits)
        return hits

    def collector(self) -> tuple[Hits, Callable[[int, int], None]]:
        """Empty hits and the handler that fills them from the engine's reports of the extras, as
        `scan` would (no early stop: the rules' pass goes on; hits past MAX_GATE_HITS are dropped)."""
        hits = Hits()
        kinds = self._kinds
        pct, inner, starts = hits.pct, hits.inner, hits.starts

        def on_extra(position: int, end: int) -> None:
            kind = kinds[position]
            if kind == MARKER:
                hits.marker = True
                return
            if hits.truncated:
                return
            if kind == TELLTALE:
                inner.append(end - 1)
            elif kind == PCT:
                pct.append(end - 3)
            else:
                starts.append(end - CONTEXT_RUN)
            hits.left -= 1
            if hits.left <= 0:
                hits.truncated = True

        return hits, on_extra

    def add_runs(self, data: bytes, hits: Hits) -> None:
        """Add the starts of base64 runs of a whole number of quads (for blobs with a marker)."""
        self._runs(data, hits)


_GATE: Gate | None = None


def gate() -> Gate:
    global _GATE
    if _GATE is None:
        _GATE = Gate()
    return _GATE
