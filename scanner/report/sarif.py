"""SARIF 2.1.0, as GitHub code scanning (and other SARIF viewers) accept it.

One run. `tool.driver.rules` lists the rules that have results (reported, or suppressed and shown),
so the document stays small; each result points at its rule by `ruleId` and `ruleIndex`. A result's
location is the real file on disk, relative and in POSIX form; a finding inside an archive points at
the archive and names the member in its message, a logical location and its properties. Skipped inputs
are tool execution notifications, so nothing unscanned goes unmentioned. The secret appears only in
`properties.secret`, and only with show_secrets; messages carry the redacted preview.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO
from urllib.parse import quote

from scanner import __version__
from scanner.iam.describe import one_line
from scanner.model import Finding, Severity, Skipped
from scanner.report.interface import Reporter, ReportError
from scanner.report.records import (
    archive_member,
    finding_record,
    ordered,
    ordered_skipped,
    relative_container_path,
    skipped_record,
)
from scanner.result import OutputOptions, ScanResult
from scanner.rules import Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/keysweep/keysweep"
FINGERPRINT_KEY = "keysweep/v1"
INLINE_ALLOW = "inline-allow"  # the `suppressed_by` of an inline allow comment (scanner/detect.py)

# GitHub sorts and labels alerts by `security-severity` (critical >= 9.0, high >= 7.0, medium >= 4.0).
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# Record fields already carried by SARIF structure; the rest go to the result's property bag.
_STRUCTURAL = frozenset({"rule_id", "line", "column", "fingerprint", "severity"})


def _pascal(rule_id: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", rule_id) if part)


def _help(rule: Rule) -> dict[str, str]:
    description = rule.description or rule.name
    if not rule.references:
        return {"text": description, "markdown": description}
    text = description + "\n\nReferences:\n" + "\n".join(f"- {url}" for url in rule.references)
    markdown = description + "\n\n**References**\n\n" + "\n".join(f"- <{url}>" for url in rule.references)
    return {"text": text, "markdown": markdown}


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": _pascal(rule.id),
        "shortDescription": {"text": rule.name},
        "fullDescription": {"text": rule.description or rule.name},
        "help": _help(rule),
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "tags": list(dict.fromkeys(["security", "secret", *rule.tags])),
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": "medium" if "generic" in rule.tags else "high",
        },
    }
    if rule.references:
        descriptor["helpUri"] = rule.references[0]
    return descriptor


def _stand_in_rule(finding: Finding) -> Rule:
    """A rule for a finding whose rule is not in `result.rules` (a custom or since-removed rule)."""
    return Rule(
        id=finding.rule_id,
        name=finding.rule_name,
        severity=finding.severity,
        pattern="",
        keywords=(),
        examples=(),
    )


def _uri(path: str) -> str:
    return quote(path, safe="/")


def _message(finding: Finding, annotations: Mapping[str, Any] | None = None) -> str:
    parts = [f"{finding.rule_name} found: {finding.preview}"]
    if finding.key_id:
        with_secret = "with its secret access key" if finding.secret_found else "without its secret"
        parts.append(f"(key id {finding.key_id}, {with_secret})")
    text = " ".join(parts)
    member = archive_member(finding.location)
    if member is not None:
        text += (
            f" at line {finding.line}, column {finding.column} of archive member {member}"
            f" in {finding.location.container_path}"
        )
    if finding.encoding:
        text += f", decoded from {' then '.join(finding.encoding)}"
    if finding.location.commit:
        text += f", in commit {finding.location.commit}"
    iam = (annotations or {}).get("iam")
    if isinstance(iam, Mapping):  # scan --iam: whose key it is (all fields are in properties.iam)
        text += f". AWS: {one_line(iam)}"
    return text + "."


def _result(
    finding: Finding,
    suppressed: bool,
    rule_index: int,
    options: OutputOptions,
    annotations: Mapping[str, Any] | None,
) -> dict[str, Any]:
    location = finding.location
    member = archive_member(location)
    # Inside an archive, line and column belong to the member: the archive itself gets line 1 (GitHub
    # needs a start line) and the member's position is in the message and the properties.
    region = (
        {"startLine": max(1, finding.line), "startColumn": max(1, finding.column)}
        if member is None
        else {"startLine": 1}
    )
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": _uri(relative_container_path(location))},
        "region": region,
    }
    sarif_location: dict[str, Any] = {"physicalLocation": physical}
    if member is not None:
        sarif_location["logicalLocations"] = [
            {"name": member, "fullyQualifiedName": location.path, "kind": "archiveMember"}
        ]
    record = finding_record(finding, options, annotations)
    properties = {k: v for k, v in record.items() if k not in _STRUCTURAL and v not in (None, [])}
    if member is not None:
        properties.update(archive_member=member, member_line=finding.line, member_column=finding.column)
    properties["security-severity"] = SECURITY_SEVERITY[finding.severity]
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": _message(finding, annotations)},
        "locations": [sarif_location],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }
    if suppressed:
        result["suppressions"] = [
            {
                "kind": "inSource" if finding.suppressed_by == INLINE_ALLOW else "external",
                "status": "accepted",
                "justification": finding.suppressed_by or "suppressed",
            }
        ]
    return result


def _notification(skipped: Skipped) -> dict[str, Any]:
    location = skipped.location
    text = f"Skipped {location.path} ({skipped.reason.value})"
    if skipped.detail:
        text += f": {skipped.detail}"
    notification: dict[str, Any] = {
        "level": "warning",
        "message": {"text": text if text.endswith(".") else text + "."},
        "descriptor": {"id": f"skipped/{skipped.reason.value}"},
        "properties": {k: v for k, v in skipped_record(skipped).items() if v is not None},
    }
    uri = relative_container_path(location)
    if uri:
        notification["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": _uri(uri)}}}]
    return notification


def _utc(moment: datetime) -> str | None:
    """SARIF times are UTC with a `Z`; a naive time has no known zone and is left out."""
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sarif_document(result: ScanResult, options: OutputOptions) -> dict[str, Any]:
    reported = [(f, False) for f in ordered(result.findings)]
    if options.show_suppressed:
        reported += [(f, True) for f in ordered(result.suppressed)]
    known = {rule.id: rule for rule in result.rules}
    descriptors: list[dict[str, Any]] = []
    index_of: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for finding, suppressed in reported:
        if finding.rule_id not in index_of:
            index_of[finding.rule_id] = len(descriptors)
            descriptors.append(_rule_descriptor(known.get(finding.rule_id) or _stand_in_rule(finding)))
        results.append(
            _result(
                finding,
                suppressed,
                index_of[finding.rule_id],
                options,
                result.annotations.get(finding.fingerprint),
            )
        )

    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "toolExecutionNotifications": [_notification(s) for s in ordered_skipped(result.skipped)],
    }
    start = _utc(result.started_at)
    if start is not None:
        invocation["startTimeUtc"] = start
        end = result.started_at + timedelta(seconds=result.stats.duration_seconds)
        invocation["endTimeUtc"] = _utc(end)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "keysweep",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": descriptors,
            }
        },
        "invocations": [invocation],
        "results": results,
        "properties": {"targets": list(result.targets)},
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


class SarifReporter(Reporter):
    name = "sarif"
    description = "SARIF 2.1.0 for GitHub code scanning and other SARIF viewers."

    def write(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        text = json.dumps(sarif_document(result, options), indent=2, ensure_ascii=False)
        try:
            stream.write(text + "\n")
        except OSError as exc:
            raise ReportError(f"Cannot write the SARIF report: {exc.strerror or exc}.") from exc
