"""Every built-in rule proves itself on its own examples.

Each `examples` entry, scanned as a blob through the real detector, must produce an unsuppressed finding
of that rule; each `negative_examples` entry must produce none. The raw match of every example must also
fit in the rule's `max_span` (the engine only confirms inside that window) and contain one of the rule's
keywords (the prefilter used where hyperscan is missing relies on them).
"""

from __future__ import annotations

import pytest

from scanner.detect import Detector
from scanner.engine import Engine
from scanner.model import Blob, Location, SourceKind
from scanner.rules import Rule, load_builtin_rules

RULES = load_builtin_rules()


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(Engine(RULES))


def _blob(text: str) -> Blob:
    return Blob(
        location=Location(source=SourceKind.FILE, origin="rule-examples", path="sample.txt"),
        data=text.encode(),
    )


def _problems(detector: Detector, rule: Rule) -> list[str]:
    problems: list[str] = []
    index = detector.rules.index(rule)
    for example in rule.examples:
        findings = [f for f in detector.findings(_blob(example)) if f.rule_id == rule.id]
        if not findings:
            problems.append(f"example not found: {example!r}")
        elif all(f.suppressed_by is not None for f in findings):
            reasons = sorted({str(f.suppressed_by) for f in findings})
            problems.append(f"example suppressed by {', '.join(reasons)}: {example!r}")
        data = example.encode()
        for raw in detector.engine.scan(data):
            if raw.rule_index != index:
                continue
            matched = data[raw.start : raw.end].decode("utf-8", "replace").lower()
            if raw.end - raw.start > rule.max_span:
                problems.append(
                    f"match of {raw.end - raw.start} bytes exceeds max_span {rule.max_span}: {example!r}"
                )
            if not any(keyword in matched for keyword in rule.keywords):
                problems.append(f"match holds none of the keywords {rule.keywords}: {matched!r}")
    for negative in rule.negative_examples:
        reported = [
            f for f in detector.findings(_blob(negative)) if f.rule_id == rule.id and f.suppressed_by is None
        ]
        if reported:
            problems.append(f"negative example reported ({reported[0].secret!r}): {negative!r}")
    return problems


@pytest.mark.parametrize("rule", [pytest.param(rule, id=rule.id) for rule in RULES])
def test_rule_examples(detector: Detector, rule: Rule) -> None:
    problems = _problems(detector, rule)
    assert not problems, f"{rule.file}: rule {rule.id!r}:\n  " + "\n  ".join(problems)
