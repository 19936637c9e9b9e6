"""The rule loader's promises, checked with real TOML files, and the shape of the shipped rule pack."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scanner.engine import HAVE_HYPERSCAN, Engine, compile_database
from scanner.rules import Rule, RuleError, _builtin_rules, check_unique, load_builtin_rules, load_rule_file

GOOD_RULE = """
[[rules]]
id = "{id}"
name = "Acme deploy token"
severity = "{severity}"
pattern = '''{pattern}'''
keywords = ["acme_"]
examples = ["ACME_TOKEN=acme_Zq8vLm2pXr7wKd4N"]
"""

LONG_REPEAT = re.compile(r"\{\d+,(\d+)\}")
VALID = {"id": "acme-deploy-token", "severity": "high", "pattern": r"(?P<secret>acme_[A-Za-z0-9]{16})"}


def write_rule(tmp_path: Path, name: str = "acme.toml", text: str | None = None, **fields: str) -> Path:
    path = tmp_path / name
    path.write_text(text if text is not None else GOOD_RULE.format(**{**VALID, **fields}), encoding="utf-8")
    return path


def assert_rule_error(path: Path, rule_id: str, fragment: str) -> None:
    with pytest.raises(RuleError) as raised:
        check_unique(load_rule_file(path))
    message = str(raised.value)
    assert str(path) in message
    assert rule_id in message
    assert fragment in message


def test_a_valid_rule_loads(tmp_path: Path) -> None:
    (rule,) = load_rule_file(write_rule(tmp_path))
    assert rule.id == "acme-deploy-token"
    assert rule.file == str(tmp_path / "acme.toml")
    assert rule.keywords == ("acme_",)


def test_a_pattern_that_does_not_compile(tmp_path: Path) -> None:
    path = write_rule(tmp_path, pattern=r"(?P<secret>acme_[A-Za-z0-9]{16}")
    assert_rule_error(path, "acme-deploy-token", "does not compile")


def test_a_rule_without_examples(tmp_path: Path) -> None:
    text = GOOD_RULE.format(**VALID).replace(
        'examples = ["ACME_TOKEN=acme_Zq8vLm2pXr7wKd4N"]', "examples = []"
    )
    assert_rule_error(write_rule(tmp_path, text=text), "acme-deploy-token", "examples")


@pytest.mark.parametrize(
    "bad_id", ["Acme-Deploy-Token", "acme_deploy_token", "acme--token", "-acme", "acme token"]
)
def test_a_bad_id(tmp_path: Path, bad_id: str) -> None:
    assert_rule_error(write_rule(tmp_path, id=bad_id), bad_id, "`id`")


def test_an_unknown_key(tmp_path: Path) -> None:
    text = GOOD_RULE.format(**VALID) + 'confidence = "high"\n'
    assert_rule_error(write_rule(tmp_path, text=text), "acme-deploy-token", "confidence")


def test_a_wrong_severity(tmp_path: Path) -> None:
    assert_rule_error(write_rule(tmp_path, severity="severe"), "acme-deploy-token", "severe")


def test_a_duplicate_id_across_two_files(tmp_path: Path) -> None:
    first = write_rule(tmp_path, "first.toml")
    second = write_rule(tmp_path, "second.toml")
    with pytest.raises(RuleError) as raised:
        check_unique(load_rule_file(first) + load_rule_file(second))
    message = str(raised.value)
    assert "acme-deploy-token" in message
    assert str(second) in message and str(first) in message


@pytest.fixture(scope="module")
def shipped() -> list[Rule]:
    return load_builtin_rules()


def test_the_shipped_rules_load_with_unique_ids(shipped: list[Rule]) -> None:
    ids = [rule.id for rule in shipped]
    assert len(ids) == len(set(ids))
    check_unique(shipped)


def test_at_least_100_rules_beyond_aws(shipped: list[Rule]) -> None:
    others = [rule for rule in shipped if rule.file != "patterns/aws.toml"]
    assert len(others) >= 100, len(others)


def test_every_non_aws_rule_is_documented_and_proved(shipped: list[Rule]) -> None:
    problems = []
    for rule in shipped:
        if rule.file == "patterns/aws.toml":
            continue
        if len(rule.examples) < 2 or len(rule.negative_examples) < 2:
            problems.append(f"{rule.id}: needs 2+ examples and 2+ negative examples")
        if not rule.description or not rule.references:
            problems.append(f"{rule.id}: needs a description and references")
        if rule.compiled().groupindex.get("secret") is None:
            problems.append(f"{rule.id}: the pattern has no `secret` group")
    assert not problems, "\n".join(problems)


def test_no_pattern_has_a_long_bounded_repeat(shipped: list[Rule]) -> None:
    """Hyperscan unrolls `x{m,n}`: an upper bound in the thousands takes minutes to compile.

    Write long repeats open-ended (`x{m,}`); the rule's `max_span` already bounds every match.
    """
    long_repeats = {
        rule.id: bounds
        for rule in shipped
        if (bounds := [m.group(0) for m in LONG_REPEAT.finditer(rule.pattern) if int(m.group(1)) > 128])
    }
    assert not long_repeats, long_repeats


@pytest.mark.skipif(not HAVE_HYPERSCAN, reason="hyperscan is not installed")
def test_the_shipped_rules_compile_into_one_hyperscan_database(shipped: list[Rule]) -> None:
    database = compile_database(shipped)
    assert database
    engine = Engine(shipped, database=database)
    assert engine.scan(b"nothing to see here") == []


def test_the_parsed_rules_are_cached_and_a_damaged_cache_is_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped: list[Rule]
) -> None:
    monkeypatch.setenv("KEYSWEEP_CACHE_DIR", str(tmp_path))
    parse_and_cache = _builtin_rules.__wrapped__  # without the per-process memo
    assert list(parse_and_cache()) == shipped
    [cached] = tmp_path.glob("builtin-rules-*.json")
    assert list(parse_and_cache()) == shipped  # from the cache
    cached.write_text('[{"id": "half a rule"}]')
    assert list(parse_and_cache()) == shipped
    cached.write_bytes(b"\xff not json")
    assert list(parse_and_cache()) == shipped
