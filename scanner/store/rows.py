"""Between values and rows: the SQL the store runs, and conversions both ways.

Times are stored as ISO 8601 text in UTC to the second (so they sort as text); absent commit, blob id
and encoding are stored as '' (see migrations.py); booleans as 0/1 or NULL.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from scanner import __version__
from scanner.model import Finding, Location, Severity, SourceKind, TriageStatus
from scanner.result import ScanResult
from scanner.store.values import (
    MIN_PREFIX,
    FindingFilter,
    FingerprintError,
    ScanStatus,
    StoredFinding,
    StoredKeyEnrichment,
    StoredLocation,
    StoredScan,
)

# Bound on the number of `?` in one `IN (...)` list.
_CHUNK = 500
_HEX = re.compile(r"[0-9a-f]+")
_GLOB_CHARACTERS = frozenset("*?[")

FINDING_UPSERT = """
INSERT INTO findings (fingerprint, rule_id, rule_name, severity, secret_preview, key_id, secret_found,
                      first_seen_at, first_seen_scan, last_seen_at, last_seen_scan, times_seen, status)
VALUES (:fingerprint, :rule_id, :rule_name, :severity, :preview, :key_id, :secret_found,
        :seen_at, :scan_id, :seen_at, :scan_id, 1, 'open')
ON CONFLICT (fingerprint) DO UPDATE SET
    rule_id = excluded.rule_id,
    rule_name = excluded.rule_name,
    severity = excluded.severity,
    secret_preview = excluded.secret_preview,
    key_id = coalesce(excluded.key_id, findings.key_id),
    secret_found = max(coalesce(excluded.secret_found, findings.secret_found),
                       coalesce(findings.secret_found, excluded.secret_found)),
    last_seen_at = excluded.last_seen_at,
    last_seen_scan = excluded.last_seen_scan,
    times_seen = findings.times_seen + 1
"""
# The triage status and note are deliberately absent from the update: a rescan never resets them.

LOCATION_UPSERT = """
INSERT INTO locations (fingerprint, source, origin, path, line, col, commit_id, blob_id, encoding,
                       first_scan, last_scan)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (fingerprint, source, origin, path, line, col, commit_id, blob_id, encoding)
DO UPDATE SET last_scan = excluded.last_scan
"""


def timestamp(value: datetime) -> str:
    """UTC, ISO 8601, to the second. A naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def by_fingerprint(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.fingerprint, []).append(finding)
    return grouped


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _placeholders(values: Sized) -> str:
    return ", ".join("?" * len(values))


def existing_fingerprints(conn: sqlite3.Connection, fingerprints: set[str]) -> frozenset[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(fingerprints)):
        rows = conn.execute(
            f"SELECT fingerprint FROM findings WHERE fingerprint IN ({_placeholders(chunk)})", chunk
        )
        found.update(row[0] for row in rows)
    return frozenset(found)


def insert_scan(
    conn: sqlite3.Connection, result: ScanResult, finished_at: datetime, status: ScanStatus, distinct: int
) -> int:
    cursor = conn.execute(
        "INSERT INTO scans (started_at, finished_at, targets, tool_version, blobs, bytes, duration_seconds,"
        " rules, findings, occurrences, new_findings, suppressed, skipped, status, notes)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
        (
            timestamp(result.started_at),
            timestamp(finished_at),
            json.dumps(list(result.targets)),
            __version__,
            result.stats.blobs,
            result.stats.bytes,
            result.stats.duration_seconds,
            result.stats.rules,
            distinct,
            len(result.findings),
            len(result.suppressed),
            len(result.skipped),
            str(status),
            json.dumps(list(result.notes)),
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def finding_row(group: list[Finding], scan_id: int, seen_at: str) -> dict[str, Any]:
    """One row for all occurrences of a fingerprint: the most telling occurrence speaks for them."""
    # Reported occurrences come first in the group; among them prefer the most severe, then one
    # whose AWS secret was found with its key id.
    best = min(
        group, key=lambda f: (f.suppressed_by is not None, -f.severity.rank, f.secret_found is not True)
    )
    found = [f.secret_found for f in group if f.secret_found is not None]
    return {
        "fingerprint": best.fingerprint,
        "rule_id": best.rule_id,
        "rule_name": best.rule_name,
        "severity": str(best.severity),
        "preview": best.preview,
        "key_id": best.key_id or next((f.key_id for f in group if f.key_id), None),
        "secret_found": int(any(found)) if found else None,
        "seen_at": seen_at,
        "scan_id": scan_id,
    }


def location_row(finding: Finding, scan_id: int) -> tuple[Any, ...]:
    location = finding.location
    return (
        finding.fingerprint,
        str(location.source),
        location.origin,
        location.path,
        finding.line,
        finding.column,
        location.commit or "",
        location.blob_id or "",
        "+".join(finding.encoding),
        scan_id,
        scan_id,
    )


def resolve(conn: sqlite3.Connection, text: str) -> str:
    """The one full fingerprint starting with `text`."""
    prefix = text.strip().lower()
    if not _HEX.fullmatch(prefix) or len(prefix) > 64:
        raise FingerprintError(f"{text!r} is not a fingerprint: fingerprints are hexadecimal (0-9, a-f).")
    if len(prefix) < MIN_PREFIX:
        raise FingerprintError(
            f"The fingerprint prefix {prefix!r} is too short: give at least {MIN_PREFIX} characters."
        )
    # Fingerprints are lowercase hex, so every one starting with `prefix` sorts below `prefix + "g"`.
    rows = conn.execute(
        "SELECT fingerprint FROM findings WHERE fingerprint >= ? AND fingerprint < ?"
        " ORDER BY fingerprint LIMIT 6",
        (prefix, prefix + "g"),
    ).fetchall()
    if not rows:
        raise FingerprintError(f"No finding in the database has a fingerprint starting with {prefix}.")
    if len(rows) > 1:
        shown = ", ".join(row[0][: len(prefix) + 4] + "…" for row in rows[:5])
        more = " and more" if len(rows) > 5 else ""
        raise FingerprintError(
            f"The prefix {prefix} matches several findings ({shown}{more}): give more characters."
        )
    return str(rows[0][0])


FINDING_COLUMNS = (
    "f.fingerprint, f.rule_id, f.rule_name, f.severity, f.secret_preview, f.key_id, f.secret_found,"
    " f.first_seen_at, f.first_seen_scan, f.last_seen_at, f.last_seen_scan, f.times_seen,"
    " f.status, f.status_note, f.status_updated_at"
)


def stored_finding(row: Sequence[Any]) -> StoredFinding:
    (fingerprint, rule_id, rule_name, severity, preview, key_id, secret_found, first_at, first_scan,
     last_at, last_scan, times_seen, status, note, updated_at) = row  # fmt: skip
    return StoredFinding(
        fingerprint=fingerprint,
        rule_id=rule_id,
        rule_name=rule_name,
        severity=Severity(severity),
        preview=preview,
        key_id=key_id,
        secret_found=None if secret_found is None else bool(secret_found),
        first_seen_at=parse_timestamp(first_at),
        first_seen_scan=first_scan,
        last_seen_at=parse_timestamp(last_at),
        last_seen_scan=last_scan,
        times_seen=times_seen,
        status=TriageStatus(status),
        status_note=note,
        status_updated_at=parse_timestamp(updated_at) if updated_at else None,
    )


def with_locations(conn: sqlite3.Connection, findings: list[StoredFinding]) -> list[StoredFinding]:
    by_fingerprint: dict[str, list[StoredLocation]] = {f.fingerprint: [] for f in findings}
    for chunk in _chunks(list(by_fingerprint)):
        rows = conn.execute(
            "SELECT fingerprint, source, origin, path, line, col, commit_id, blob_id, encoding,"
            " first_scan, last_scan FROM locations"
            f" WHERE fingerprint IN ({_placeholders(chunk)}) ORDER BY id",
            chunk,
        )
        for fingerprint, source, origin, path, line, col, commit, blob, encoding, first, last in rows:
            location = Location(SourceKind(source), origin, path, commit or None, blob or None)
            by_fingerprint[fingerprint].append(
                StoredLocation(
                    location, line, col, tuple(encoding.split("+")) if encoding else (), first, last
                )
            )
    return [replace(f, locations=tuple(by_fingerprint[f.fingerprint])) for f in findings]


def where_clauses(filters: FindingFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if filters.statuses:
        where.append(f"f.status IN ({_placeholders(filters.statuses)})")
        params.extend(str(status) for status in sorted(filters.statuses))
    if filters.rule_id:
        where.append("f.rule_id = ?")
        params.append(filters.rule_id)
    if filters.min_severity is not None:
        floor = filters.min_severity.rank
        severities = [str(s) for s in Severity if s.rank >= floor]
        where.append(f"f.severity IN ({_placeholders(severities)})")
        params.extend(severities)
    if filters.key_id:
        where.append("f.key_id = ? COLLATE NOCASE")
        params.append(filters.key_id.strip())
    if filters.since is not None:
        where.append("f.first_seen_at >= ?")
        params.append(timestamp(filters.since))
    if filters.scan_id is not None:
        where.append(
            "EXISTS (SELECT 1 FROM sightings s WHERE s.fingerprint = f.fingerprint AND s.scan_id = ?)"
        )
        params.append(filters.scan_id)
    # IAM enrichment conditions hold for the finding's key id (iam_keys, one row per key id).
    iam: list[str] = []
    if filters.live:
        iam.append("k.live = 1")
    if filters.owner:
        iam.append(
            "(instr(lower(coalesce(k.user_name, '')), lower(?)) > 0"
            " OR instr(lower(k.contacts), lower(?)) > 0"
            " OR instr(lower(coalesce(json_extract(k.record, '$.user_arn'), '')), lower(?)) > 0)"
        )
        params.extend([filters.owner.strip()] * 3)
    if filters.account:
        iam.append("(k.account_id = ? OR lower(coalesce(k.account_name, '')) = lower(?))")
        params.extend([filters.account.strip()] * 2)
    if iam:
        where.append(
            "EXISTS (SELECT 1 FROM iam_keys k WHERE k.key_id = f.key_id AND " + " AND ".join(iam) + ")"
        )
    # Location conditions must hold for the same location, so they share one EXISTS.
    place: list[str] = []
    if filters.path:
        place.append("l.path GLOB ?" if _GLOB_CHARACTERS & set(filters.path) else "instr(l.path, ?) > 0")
        params.append(filters.path)
    if filters.source is not None:
        place.append("l.source = ?")
        params.append(str(filters.source))
    if filters.origin:
        place.append("l.origin = ?")
        params.append(filters.origin)
    if place:
        where.append(
            "EXISTS (SELECT 1 FROM locations l WHERE l.fingerprint = f.fingerprint AND "
            + " AND ".join(place)
            + ")"
        )
    return where, params


def stored_scan(row: Sequence[Any]) -> StoredScan:
    (scan_id, started, finished, targets, version, blobs, size, duration, rules, findings, occurrences,
     new, suppressed, skipped, status, notes) = row  # fmt: skip
    return StoredScan(
        id=scan_id,
        started_at=parse_timestamp(started),
        finished_at=parse_timestamp(finished),
        targets=tuple(json.loads(targets)),
        tool_version=version,
        blobs=blobs,
        bytes=size,
        duration_seconds=duration,
        rules=rules,
        findings=findings,
        occurrences=occurrences,
        new_findings=new,
        suppressed=suppressed,
        skipped=skipped,
        status=ScanStatus(status),
        notes=tuple(json.loads(notes)),
    )


IAM_UPSERT = """
INSERT INTO iam_keys (key_id, account_id, account_name, ownership, state, principal, user_name, owner,
                      contacts, live, timeline, first_exposed_at, exposure_source, fetched_at, verified_at,
                      record)
VALUES (:key_id, :account_id, :account_name, :ownership, :state, :principal, :user_name, :owner,
        :contacts, :live, :timeline, :first_exposed_at, :exposure_source, :fetched_at, :verified_at,
        :record)
ON CONFLICT (key_id) DO UPDATE SET
    account_id = excluded.account_id, account_name = excluded.account_name, ownership = excluded.ownership,
    state = excluded.state, principal = excluded.principal, user_name = excluded.user_name,
    owner = excluded.owner, contacts = excluded.contacts, live = excluded.live, timeline = excluded.timeline,
    first_exposed_at = coalesce(excluded.first_exposed_at, iam_keys.first_exposed_at),
    exposure_source = CASE WHEN excluded.first_exposed_at IS NULL THEN iam_keys.exposure_source
                           ELSE excluded.exposure_source END,
    fetched_at = excluded.fetched_at, verified_at = excluded.verified_at, record = excluded.record
"""


def iam_row(enrichment: StoredKeyEnrichment) -> dict[str, Any]:
    """The columns of `iam_keys` for one enrichment (filter columns are read from its record)."""
    record = enrichment.record
    contacts = record.get("contacts") or {}
    live = record.get("live")
    verification = record.get("verification") or {}
    return {
        "key_id": enrichment.key_id,
        "account_id": record.get("account_id"),
        "account_name": record.get("account_name"),
        "ownership": str(record.get("ownership") or "unknown"),
        "state": str(record.get("state") or "unknown"),
        "principal": record.get("principal"),
        "user_name": record.get("user"),
        "owner": record.get("owner"),
        "contacts": "\n".join(f"{key}={value}" for key, value in contacts.items()),
        "live": None if live is None else int(bool(live)),
        "timeline": enrichment.timeline,
        "first_exposed_at": timestamp(enrichment.first_exposed_at) if enrichment.first_exposed_at else None,
        "exposure_source": enrichment.exposure_source,
        "fetched_at": timestamp(enrichment.fetched_at),
        "verified_at": verification.get("at"),
        "record": json.dumps(record, sort_keys=True, default=str),
    }


def stored_key_enrichment(row: Sequence[Any]) -> StoredKeyEnrichment:
    key_id, record, fetched_at, first_exposed_at, exposure_source, timeline = row
    return StoredKeyEnrichment(
        key_id=key_id,
        record=json.loads(record),
        fetched_at=parse_timestamp(fetched_at),
        first_exposed_at=parse_timestamp(first_exposed_at) if first_exposed_at else None,
        exposure_source=exposure_source,
        timeline=timeline,
    )
