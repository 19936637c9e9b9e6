"""What the store hands back: stored findings with their locations, scans, filters, and its errors.

These values never carry a secret: the database holds fingerprints, redacted previews and AWS key
ids (identifiers, not secrets) only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from scanner.model import Location, Severity, SourceKind, TriageStatus

# A fingerprint prefix must be at least this long to name a finding (CLI and API alike).
MIN_PREFIX = 8
# How many characters of a fingerprint people are shown.
SHORT_FINGERPRINT = 12


class StoreError(Exception):
    """The findings database cannot be used: unreadable, corrupt, foreign or too new a schema."""


class FingerprintError(StoreError):
    """A fingerprint or prefix names no finding, or more than one, or is not a fingerprint at all."""


class ScanStatus(StrEnum):
    """How a recorded scan ended."""

    COMPLETE = "complete"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class RecordedScan:
    """What `Store.record_scan` did: the new scan's id and which fingerprints it saw for the first time."""

    scan_id: int
    new_fingerprints: frozenset[str]
    seen_fingerprints: frozenset[str]


@dataclass(frozen=True, slots=True)
class StoredScan:
    id: int
    started_at: datetime
    finished_at: datetime
    targets: tuple[str, ...]
    tool_version: str
    blobs: int
    bytes: int
    duration_seconds: float
    rules: int
    findings: int
    occurrences: int
    new_findings: int
    suppressed: int
    skipped: int
    status: ScanStatus
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredLocation:
    """One distinct place a finding was seen, with the first and last scans that saw it there."""

    location: Location
    line: int
    column: int
    encoding: tuple[str, ...]
    first_scan: int
    last_scan: int

    def as_record(self) -> dict[str, Any]:
        return {
            "source": str(self.location.source),
            "origin": self.location.origin,
            "path": self.location.path,
            "line": self.line,
            "column": self.column,
            "commit": self.location.commit,
            "blob_id": self.location.blob_id,
            "encoding": list(self.encoding),
            "first_scan": self.first_scan,
            "last_scan": self.last_scan,
        }


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """One finding (one fingerprint) as the database knows it, across every scan that saw it."""

    fingerprint: str
    rule_id: str
    rule_name: str
    severity: Severity
    preview: str
    key_id: str | None
    secret_found: bool | None
    first_seen_at: datetime
    first_seen_scan: int
    last_seen_at: datetime
    last_seen_scan: int
    times_seen: int
    status: TriageStatus
    status_note: str | None
    status_updated_at: datetime | None
    locations: tuple[StoredLocation, ...] = ()

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:SHORT_FINGERPRINT]

    def as_record(self) -> dict[str, Any]:
        """Plain JSON-ready values, every location included. Never a secret: there is none to include."""
        return {
            "fingerprint": self.fingerprint,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "severity": str(self.severity),
            "secret_preview": self.preview,
            "key_id": self.key_id,
            "secret_found": self.secret_found,
            "status": str(self.status),
            "status_note": self.status_note,
            "status_updated_at": _iso(self.status_updated_at),
            "first_seen_at": _iso(self.first_seen_at),
            "first_seen_scan": self.first_seen_scan,
            "last_seen_at": _iso(self.last_seen_at),
            "last_seen_scan": self.last_seen_scan,
            "times_seen": self.times_seen,
            "locations": [location.as_record() for location in self.locations],
        }


@dataclass(frozen=True, slots=True)
class TriageEvent:
    """One change of a finding's triage status."""

    fingerprint: str
    old_status: TriageStatus
    new_status: TriageStatus
    note: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class FindingFilter:
    """Which stored findings to list. Every field narrows the list; the default lists everything.

    `path` is a substring of a location's path, or a glob (`*`, `?`, `[...]`, case-sensitive, `*`
    crosses `/`) matched against the whole path when it contains one of those characters.
    `path`, `source`, `origin` match when any location of the finding matches.
    `scan_id` keeps findings that scan saw; `since` keeps findings first seen at or after it.
    """

    statuses: frozenset[TriageStatus] = field(default_factory=frozenset)
    rule_id: str | None = None
    min_severity: Severity | None = None
    path: str | None = None
    key_id: str | None = None
    source: SourceKind | None = None
    origin: str | None = None
    scan_id: int | None = None
    since: datetime | None = None
    # IAM enrichment (the iam_keys table, joined on key_id): `live` keeps keys known to work (proven by
    # --verify, or Active in our account and not disproven); `owner` is a case-insensitive substring of
    # the owning user, its ARN or an owner-tag value; `account` an account id or name.
    live: bool = False
    owner: str | None = None
    account: str | None = None


@dataclass(frozen=True, slots=True)
class StoredKeyEnrichment:
    """One row of `iam_keys`: the IAM enrichment of an AWS access key id, as `record` (plain JSON values,
    read back by `scanner.iam`), with the columns that filters use."""

    key_id: str
    record: dict[str, Any]
    fetched_at: datetime
    first_exposed_at: datetime | None = None
    exposure_source: str | None = None
    timeline: str | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
