"""Baselines: adopt keysweep on a repository that already has findings.

`keysweep baseline create` records the current findings by their content fingerprint (rule family +
secret or key id: never a line, column or commit), so moving code around does not resurface them, and
a different secret on a baselined line is a new finding. `scan --baseline FILE` reports only findings
whose fingerprint is not in the file; the baselined ones are suppressed with `suppressed_by="baseline"`
(listed with --show-suppressed). `keysweep baseline update` prunes the entries no longer found.

The file never holds a secret: fingerprints (sha256), rule ids, redacted previews and paths.

    {"version": 1, "tool": "keysweep", "created_at": "...", "updated_at": "...",
     "findings": [{"fingerprint": "...", "rule_id": "...", "secret_preview": "AKIA…WXYZ",
                   "paths": ["deploy.env"]}, ...]}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from scanner.model import Finding
from scanner.report.records import display_path
from scanner.result import ScanResult

BASELINE_NAME = ".keysweep-baseline.json"
FORMAT_VERSION = 1
SUPPRESSED_BY = "baseline"


class BaselineError(Exception):
    """A baseline file cannot be read or is not a keysweep baseline. The message names the file."""


@dataclass(frozen=True)
class BaselineEntry:
    fingerprint: str
    rule_id: str
    secret_preview: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Baseline:
    entries: Mapping[str, BaselineEntry] = field(default_factory=dict)
    created_at: str | None = None

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def from_findings(findings: Iterable[Finding], created_at: str | None = None) -> Baseline:
    entries: dict[str, BaselineEntry] = {}
    paths: dict[str, set[str]] = {}
    for finding in findings:
        paths.setdefault(finding.fingerprint, set()).add(display_path(finding.location))
        if finding.fingerprint not in entries:
            entries[finding.fingerprint] = BaselineEntry(
                finding.fingerprint, finding.rule_id, finding.preview
            )
    for fingerprint, entry in entries.items():
        entries[fingerprint] = replace(entry, paths=tuple(sorted(paths[fingerprint])))
    return Baseline(entries, created_at or _now())


def pruned(baseline: Baseline, still_found: Iterable[Finding]) -> tuple[Baseline, list[BaselineEntry]]:
    """The baseline without the entries whose fingerprint is no longer found, and those removed."""
    found = {f.fingerprint for f in still_found}
    kept = {k: v for k, v in baseline.entries.items() if k in found}
    removed = [v for k, v in baseline.entries.items() if k not in found]
    return Baseline(kept, baseline.created_at), removed


def dumps(baseline: Baseline) -> str:
    document: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "tool": "keysweep",
        "created_at": baseline.created_at or _now(),
        "updated_at": _now(),
        "findings": [
            {
                "fingerprint": e.fingerprint,
                "rule_id": e.rule_id,
                "secret_preview": e.secret_preview,
                "paths": list(e.paths),
            }
            for e in sorted(baseline.entries.values(), key=lambda e: (e.rule_id, e.fingerprint))
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def loads(text: str, source: str) -> Baseline:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{source}: not a keysweep baseline (invalid JSON: {exc}).") from None
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise BaselineError(f"{source}: not a keysweep baseline (no `findings` list).")
    if document.get("version") != FORMAT_VERSION:
        raise BaselineError(f"{source}: baseline version {document.get('version')!r} is not supported.")
    entries: dict[str, BaselineEntry] = {}
    for index, item in enumerate(document["findings"], start=1):
        fingerprint = item.get("fingerprint") if isinstance(item, dict) else None
        if not isinstance(fingerprint, str) or len(fingerprint) != 64:
            raise BaselineError(f"{source}: finding #{index} has no valid `fingerprint`.")
        entries[fingerprint] = BaselineEntry(
            fingerprint,
            str(item.get("rule_id", "")),
            str(item.get("secret_preview", "")),
            tuple(str(p) for p in item.get("paths", [])),
        )
    return Baseline(entries, document.get("created_at"))


def apply(result: ScanResult, baseline: Baseline) -> ScanResult:
    """Move the findings the baseline knows to `suppressed` (suppressed_by="baseline")."""
    if not baseline.entries:
        return result
    known = baseline.fingerprints
    kept = tuple(f for f in result.findings if f.fingerprint not in known)
    moved = tuple(f.suppressed(SUPPRESSED_BY) for f in result.findings if f.fingerprint in known)
    if not moved:
        return result
    note = f"baseline: {len({f.fingerprint for f in moved})} known finding(s) suppressed."
    return replace(result, findings=kept, suppressed=result.suppressed + moved, notes=(*result.notes, note))


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
