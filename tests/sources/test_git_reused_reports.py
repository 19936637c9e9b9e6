"""Reports carried over from the previous version of a file (`scanner.firstpass`): for any edit, the
windows and gate hits of the new version must be exactly those a full pass gives, and a history scan
must find exactly the same secrets with and without the reuse."""

from __future__ import annotations

import base64
import difflib
import random
from pathlib import Path

import pytest

from scanner.decode.gate import engine_extras, gate
from scanner.engine import HIT_CONTEXT, Engine, PrefilterHits
from scanner.firstpass import MIN_CORE, FirstPass, carried_over
from scanner.model import Blob, Lineage, Location, SourceKind
from scanner.rules import load_builtin_rules

KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
SECRET = "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"
PEM_BODY = "\n".join(
    base64.b64encode(bytes((n * 7 + k) % 256 for k in range(48))).decode() for n in range(30)
)
SNIPPETS = [
    f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n",
    f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n",
    f"token: {base64.b64encode(('aws_secret_access_key=' + SECRET).encode()).decode()}\n",
    "redirect = https://example.org/?next=%2Fhome%3Ftoken%3Dabc\n",
    "ghp_" + "Vb7Rt2Nq9Xm4Kw1Lp8Zs3Hd6Jc0Fy5Ga2Ue7" + "\n",
    "Authorization: Bearer " + "q" * 8 + "Zx81Lm0PqRsTuVwXyZ" * 3 + "\n",
    "kind: Secret\n",
    "password = 'correct-horse-battery-staple-42'\n",
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_builtin_rules(), extras=engine_extras())


def filler(rng: random.Random) -> str:
    words = ["alpha", "beta", "config", "value", "index", "token_index", "cluster", "region", "x" * 40]
    return " ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) + f" {rng.randint(0, 10**6)}\n"


def document(rng: random.Random, lines: int) -> list[str]:
    return [rng.choice(SNIPPETS) if rng.random() < 0.04 else filler(rng) for _ in range(lines)]


def edited(rng: random.Random, lines: list[str]) -> list[str]:
    lines = list(lines)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(lines) + 1)
        action = rng.random()
        if action < 0.4:
            lines[at:at] = [rng.choice(SNIPPETS) if rng.random() < 0.3 else filler(rng)]
        elif action < 0.7 and at < len(lines):
            del lines[at : at + rng.randint(1, 3)]
        elif at < len(lines):
            line = lines[at]
            cut = rng.randrange(len(line))
            lines[at] = line[:cut] + rng.choice(["Z", "", "\n", SNIPPETS[0][:30]]) + line[cut + 1 :]
    return lines


def copies_between(base: list[str], new: list[str]) -> tuple[tuple[int, int, int], ...]:
    """What a pack delta would copy: the runs of common lines, as (offset in new, offset in base,
    length) in bytes."""

    def starts(lines: list[str]) -> list[int]:
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line.encode()))
        return offsets

    base_at, new_at = starts(base), starts(new)
    matcher = difflib.SequenceMatcher(None, base, new, autojunk=False)
    return tuple(
        (new_at[b], base_at[a], base_at[a + size] - base_at[a])
        for a, b, size in matcher.get_matching_blocks()
        if size
    )


def blob(data: bytes, oid: str, lineage: Lineage | None = None, has_deltas: bool = False) -> Blob:
    location = Location(SourceKind.GIT, "/repo", "f.txt", blob_id=oid)
    return Blob(location, data, lineage=lineage, has_deltas=has_deltas)


def outcome(first: FirstPass, item: Blob) -> tuple[object, ...]:
    first.begin(item)
    hits = first.gate_hits(item.data)
    windows = first.windows_for(item)
    first.end(item)
    return (windows, hits.pct, hits.inner, hits.starts, hits.marker, hits.truncated)


@pytest.mark.parametrize("seed", range(40))
def test_a_new_versions_reports_are_exactly_those_of_a_full_pass(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    old_lines = document(rng, rng.randint(50, 900))
    new_lines = edited(rng, old_lines)
    old = "".join(old_lines).encode()
    new = "".join(new_lines).encode()
    reusing = FirstPass(engine, gate())
    outcome(reusing, blob(old, "a" * 40, has_deltas=True))
    lineage = Lineage("a" * 40, copies_between(old_lines, new_lines))
    carried = outcome(reusing, blob(new, "b" * 40, lineage))
    full = outcome(FirstPass(engine, gate()), blob(new, "b" * 40))
    assert carried == full
    if len(old) > 4 * (HIT_CONTEXT + MIN_CORE):
        assert reusing.carried == 1  # the reports were indeed carried over, not recomputed


def test_stretches_too_short_to_carry_anything_leave_the_whole_blob_to_scan() -> None:
    base = PrefilterHits({0: [10, 5000]}, [(1, 20)], size=6000)
    hits, gaps = carried_over(base, [(0, 0, 100), (100, 3000, 500)], 6000)
    assert hits.rule_ends == {} and hits.extra_ends == [] and gaps == [(0, 6000)]


def test_a_stretch_copied_from_the_start_carries_reports_from_the_very_first_byte() -> None:
    size = 3 * MIN_CORE
    base = PrefilterHits({3: [5, 2 * MIN_CORE, size]}, [(0, 7)], size=size)
    # the first two thirds copied in place, the rest inserted
    hits, gaps = carried_over(base, [(0, 0, 2 * MIN_CORE + 100)], size + 50)
    assert hits.rule_ends == {3: [5, 2 * MIN_CORE]} and hits.extra_ends == [(0, 7)]
    assert gaps == [(2 * MIN_CORE + 100 - 16 + 1, size + 50)]
    # the same stretch moved further in: nothing near its start is carried
    hits, gaps = carried_over(base, [(10, 0, 2 * MIN_CORE + 100)], size + 60)
    assert hits.rule_ends == {3: [2 * MIN_CORE + 10]} and gaps[0] == (0, 10 + HIT_CONTEXT - 1)


def test_a_history_scan_finds_the_same_secrets_with_and_without_carried_reports(tmp_path: Path) -> None:
    from test_git_support import Repo

    from scanner.pipeline import ScanSettings, _WorkerState, scan_unit
    from scanner.rulecache import compiled_database
    from scanner.sources.git import GitHistorySource, packed
    from scanner.sources.interface import Limits, WorkUnit

    repo = Repo(tmp_path / "r")
    rng = random.Random(7)
    lines = document(rng, 1500)
    for version in range(25):
        lines = edited(rng, lines)
        repo.commit(f"v{version}", **{"config/app.txt": "".join(lines)})
    repo.git("gc", "-q")
    rules = tuple(load_builtin_rules())
    settings = ScanSettings(rules=rules)

    def scan(reuse: bool) -> tuple[set[tuple[object, ...]], int]:
        state = _WorkerState(rules, compiled_database(rules, engine_extras()), settings)
        state.first_pass._reuse = reuse
        source = GitHistorySource(repo.path)
        found: set[tuple[object, ...]] = set()
        original = packed.PACK_READER_MIN_BLOBS
        packed.PACK_READER_MIN_BLOBS = 0  # a small repository, read from its pack all the same
        try:
            for unit in source.plan(Limits()):
                if isinstance(unit, WorkUnit):
                    result = scan_unit(unit, state)
                    assert not result.skipped
                    found |= {
                        (f.fingerprint, f.location.blob_id, f.line, f.column, f.rule_id, f.suppressed_by)
                        for f in result.findings
                    }
        finally:
            packed.PACK_READER_MIN_BLOBS = original
        return found, state.first_pass.carried

    with_reuse, carried = scan(True)
    without, none = scan(False)
    assert with_reuse == without and len({f[1] for f in without}) >= 20
    assert carried >= 20 and none == 0
