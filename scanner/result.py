"""What a finished scan hands to reports and the store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.model import Finding, Skipped
from scanner.rules import Rule


@dataclass(frozen=True)
class ScanStats:
    blobs: int = 0
    bytes: int = 0
    duration_seconds: float = 0.0
    rules: int = 0


@dataclass(frozen=True)
class ScanResult:
    """`findings` are reported; `suppressed` were silenced by a named filter, allowlist or triage."""

    targets: tuple[str, ...]
    started_at: datetime
    findings: tuple[Finding, ...] = ()
    suppressed: tuple[Finding, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    stats: ScanStats = field(default_factory=ScanStats)
    notes: tuple[str, ...] = ()
    scan_id: int | None = None
    rules: tuple[Rule, ...] = ()  # the rules that were enabled (SARIF and text reports describe them)
    # Facts later stages attach to a finding, by fingerprint: {"provenance": {...}} from git history,
    # {"iam": {...}} from AWS enrichment. Every structured format prints them as fields of the record.
    annotations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Open findings of earlier scans in objects an incremental scan did not read again (still leaked).
    known_open: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings and not self.known_open


@dataclass(frozen=True)
class OutputOptions:
    """How findings are shown. Secrets appear in clear only with show_secrets."""

    show_secrets: bool = False
    show_suppressed: bool = False
