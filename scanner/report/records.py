"""The one field set every structured format shares (json, jsonl, csv, SARIF properties).

A finding's fields are defined here and nowhere else: a new field (git provenance, IAM owner...) is
added to `finding_record` and appears in every format. The secret itself is in a record only when the
user asked for it (`OutputOptions.show_secrets`); otherwise formats carry the redacted `secret_preview`.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from scanner.model import ARCHIVE_SEPARATOR, Finding, Location, Severity, Skipped, SourceKind
from scanner.result import OutputOptions, ScanResult

# The fields of a finding record, in order (csv columns follow this order). `suppressed_by` is present
# only with show_suppressed, `secret` only with show_secrets; `extra` pairs follow these fields.
FINDING_FIELDS: tuple[str, ...] = (
    "rule_id",
    "rule_name",
    "severity",
    "source",
    "origin",
    "path",
    "line",
    "column",
    "commit",
    "fingerprint",
    "secret_preview",
    "encoding",
    "key_id",
    "secret_found",
)
SKIPPED_FIELDS: tuple[str, ...] = ("source", "origin", "path", "commit", "reason", "detail")

# Names an `extra` pair may not take: every core field, plus keys the formats use for structure
# (jsonl `type`, SARIF property-bag `tags`, csv `skipped_*`). A colliding extra is kept as `extra_<name>`.
_RESERVED = frozenset(
    {*FINDING_FIELDS, "suppressed_by", "secret", "type", "tags", "skipped_reason", "skipped_detail"}
)


def finding_fields(options: OutputOptions) -> list[str]:
    """The core fields of every finding record for these options, in order."""
    fields = list(FINDING_FIELDS)
    if options.show_suppressed:
        fields.append("suppressed_by")
    if options.show_secrets:
        fields.append("secret")
    return fields


def extra_field_name(name: str) -> str:
    return f"extra_{name}" if name in _RESERVED else name


def finding_record(
    finding: Finding, options: OutputOptions, annotations: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The dict every structured format prints for one finding. Keys follow `finding_fields`, then extras.

    `key_id` and `secret_found` are None (null) for anything but AWS access keys; the key id is an
    identifier, not a secret, and is printed in clear.
    """
    location = finding.location
    record: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "rule_name": finding.rule_name,
        "severity": finding.severity.value,
        "source": location.source.value,
        "origin": location.origin,
        "path": location.path,
        "line": finding.line,
        "column": finding.column,
        "commit": location.commit,
        "fingerprint": finding.fingerprint,
        "secret_preview": finding.preview,
        "encoding": list(finding.encoding),
        "key_id": finding.key_id,
        "secret_found": finding.secret_found,
    }
    if options.show_suppressed:
        record["suppressed_by"] = finding.suppressed_by
    if options.show_secrets:
        record["secret"] = finding.secret
    for name, value in finding.extra:
        record[extra_field_name(name)] = value
    for name, value in (annotations or {}).items():
        record[extra_field_name(name)] = value
    return record


def skipped_record(skipped: Skipped) -> dict[str, Any]:
    """The dict every structured format prints for an input that was not (fully) scanned."""
    location = skipped.location
    return {
        "source": location.source.value,
        "origin": location.origin,
        "path": location.path,
        "commit": location.commit,
        "reason": skipped.reason.value,
        "detail": skipped.detail,
    }


def scan_record(result: ScanResult) -> dict[str, Any]:
    """What was scanned, when and how much."""
    stats = result.stats
    return {
        "targets": list(result.targets),
        "started_at": result.started_at.isoformat(),
        "duration_seconds": round(stats.duration_seconds, 3),
        "blobs": stats.blobs,
        "bytes": stats.bytes,
        "rules": stats.rules,
        "scan_id": result.scan_id,
        "notes": list(result.notes),
    }


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings per severity, most severe first, every severity present (0 when none)."""
    counts = Counter(f.severity for f in findings)
    ordered = sorted(Severity, key=lambda s: s.rank, reverse=True)
    return {severity.value: counts.get(severity, 0) for severity in ordered}


def summary_record(result: ScanResult) -> dict[str, Any]:
    """Counts of reported findings (by severity), suppressed findings and skipped inputs."""
    return {
        "total": len(result.findings),
        "by_severity": severity_counts(result.findings),
        "suppressed": len(result.suppressed),
        "skipped": len(result.skipped),
    }


def sort_key(finding: Finding) -> tuple[str, str, str, str, int, int, str]:
    """Stable report order: by input, then position, then rule (workers finish in any order)."""
    location = finding.location
    return (
        location.source.value,
        location.origin,
        location.path,
        location.commit or "",
        finding.line,
        finding.column,
        finding.rule_id,
    )


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=sort_key)


def ordered_skipped(skipped: Iterable[Skipped]) -> list[Skipped]:
    return sorted(
        skipped, key=lambda s: (s.location.source.value, s.location.origin, s.location.path, s.reason.value)
    )


def archive_member(location: Location) -> str | None:
    """The path inside the outermost archive (`inner/file` for `outer.zip!inner/file`), else None."""
    if ARCHIVE_SEPARATOR not in location.path:
        return None
    return location.path.split(ARCHIVE_SEPARATOR, 1)[1]


def _join(origin: str, path: str) -> str:
    """`path` (relative to `origin`) as seen from where the scan ran.

    When the origin is a single file, sources name it by its own file name (or leave `path` empty):
    then the origin itself is the file.
    """
    origin = origin.replace("\\", "/")
    path = path.replace("\\", "/")
    if origin in ("", ".", "./"):
        joined = path
    elif not path or origin == path or origin.endswith("/" + path):
        joined = origin
    else:
        joined = posixpath.join(origin, path)
    normalized = posixpath.normpath(joined) if joined else joined
    return "" if normalized == "." else normalized


def _is_absolute(path: str) -> bool:
    path = path.replace("\\", "/")
    return path.startswith("/") or (len(path) >= 3 and path[0].isalpha() and path[1:3] == ":/")


def display_path(location: Location) -> str:
    """The path a person can open: for files, joined to the origin they asked to scan."""
    if location.source is SourceKind.FILE:
        container = _join(location.origin, location.container_path)
        member = archive_member(location)
        return f"{container}{ARCHIVE_SEPARATOR}{member}" if member is not None else container
    return location.path


def relative_container_path(location: Location) -> str:
    """The POSIX path of the real file holding `location`, relative to where the scan ran (SARIF).

    For files scanned through a relative origin (`keysweep scan src`) the origin is prefixed, so the
    path is relative to the working directory (the repository root in CI). For an absolute origin
    the path stays relative to that origin: SARIF consumers resolve it against the checkout.
    """
    container = location.container_path.replace("\\", "/")
    if location.source is SourceKind.FILE and not _is_absolute(location.origin):
        container = _join(location.origin, container)
    return container.lstrip("/")
