"""`--format gitlab`: GitLab's secret detection report (`artifacts:reports:secret_detection`).

The documented shape (security-report-schemas, secret-detection-report-format.json, 15.x):
`version`, `vulnerabilities[]` each with `id`, `category: "secret_detection"`, `name`, `description`,
`severity` (Critical/High/Medium/Low/Info), `location` {`file`, `start_line`, `end_line`,
`commit` {`sha`}}, `identifiers[]` {`type`, `name`, `value`}; and `scan` {`analyzer`, `scanner` (each
`id`, `name`, `version`, `vendor.name`), `type: "secret_detection"`, `start_time`, `end_time`
(`YYYY-MM-DDTHH:MM:SS`, UTC), `status`, `messages[]` {`level`, `value`}}. A finding outside git history
(a working tree, staged changes) has commit sha `0000000` as GitLab's own analyzer writes. Inputs that
were not scanned and configuration changes inside a range are `warn` messages. The `id` is stable
(a UUID derived from fingerprint and location). The secret is written (`raw_source_code_extract`) only
with --show-secrets; suppressed findings (with --show-suppressed) carry a `flags` entry
`flagged-as-likely-false-positive` naming what suppressed them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, timedelta
from typing import Any, TextIO

from scanner import __version__
from scanner.model import Finding, Severity, SkipReason
from scanner.report.interface import Reporter, ReportError
from scanner.report.records import archive_member, ordered, ordered_skipped, relative_container_path
from scanner.result import OutputOptions, ScanResult

SCHEMA_VERSION = "15.0.7"
NO_COMMIT = "0000000"
_NAMESPACE = uuid.UUID("6f0d3c1e-7a4b-5e2d-9c8f-1b2a3c4d5e6f")
_SEVERITY = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.INFO: "Info",
}
_TOOL = {"id": "keysweep", "name": "keysweep", "version": __version__, "vendor": {"name": "keysweep"}}


def vulnerability(finding: Finding, show_secret: bool = False) -> dict[str, Any]:
    location = finding.location
    path = relative_container_path(location)
    identity = f"{finding.fingerprint}:{path}:{finding.line}:{location.commit or ''}"
    description = f"{finding.rule_name} ({finding.preview})"
    member = archive_member(location)
    if member:
        description += f" inside the archive at {member}"
    record: dict[str, Any] = {
        "id": str(uuid.uuid5(_NAMESPACE, identity)),
        "category": "secret_detection",
        "name": finding.rule_name,
        "description": description + ". Revoke the secret, then remove it.",
        "cve": f"{path}:{finding.fingerprint}:{finding.rule_id}",
        "severity": _SEVERITY[finding.severity],
        "confidence": "High",
        "scanner": {"id": "keysweep", "name": "keysweep"},
        "location": {
            "file": path,
            "start_line": finding.line,
            "end_line": finding.line,
            "commit": {"sha": location.commit or NO_COMMIT},
        },
        "identifiers": [
            {
                "type": "keysweep_rule_id",
                "name": f"keysweep rule {finding.rule_id}",
                "value": finding.rule_id,
            }
        ],
    }
    if show_secret:
        record["raw_source_code_extract"] = finding.secret
    return record


def _time(value: Any) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return str(value.replace(microsecond=0, tzinfo=None).isoformat())


class GitlabReporter(Reporter):
    name = "gitlab"
    description = "GitLab secret detection report (JSON)"

    def write(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        messages: list[dict[str, str]] = []
        for skipped in ordered_skipped(result.skipped):
            where = relative_container_path(skipped.location)
            if skipped.reason is SkipReason.CONFIG_CHANGED:
                messages.append({"level": "warn", "value": f"configuration changed: {skipped.detail}"})
            else:
                messages.append(
                    {
                        "level": "warn",
                        "value": f"{where}: not scanned ({skipped.reason.value}): {skipped.detail}",
                    }
                )
        messages.extend({"level": "info", "value": note} for note in result.notes)
        vulnerabilities = [vulnerability(f, options.show_secrets) for f in ordered(result.findings)]
        if options.show_suppressed:
            for finding in ordered(result.suppressed):
                record = vulnerability(finding, options.show_secrets)
                record["flags"] = [
                    {
                        "type": "flagged-as-likely-false-positive",
                        "origin": "keysweep",
                        "description": f"suppressed by {finding.suppressed_by}",
                    }
                ]
                vulnerabilities.append(record)
        end = result.started_at + timedelta(seconds=result.stats.duration_seconds)
        document = {
            "version": SCHEMA_VERSION,
            "vulnerabilities": vulnerabilities,
            "scan": {
                "analyzer": _TOOL,
                "scanner": _TOOL,
                "type": "secret_detection",
                "start_time": _time(result.started_at),
                "end_time": _time(end),
                "status": "success",
                "messages": messages,
            },
        }
        try:
            stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            stream.flush()
        except OSError as exc:
            raise ReportError(f"Cannot write the GitLab report: {exc.strerror or exc}.") from exc
