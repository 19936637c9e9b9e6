"""The findings database schema, as a `sqlite_utils` migration set applied when a store is opened.

Never edit a migration that has shipped: databases in the field have already applied it. Change the
schema by adding a new function at the end; `KNOWN_MIGRATIONS` then tells a newer database (one with
steps this version does not know) from an older one.

Tables:

    scans          one row per recorded scan: times, targets (JSON), tool version, volume, counts, status
    findings       one row per fingerprint: rule, severity, redacted preview, AWS key id, first/last
                   sighting, times seen, triage status (kept across rescans) with its note
    locations      one row per distinct place a finding was seen, with the first and last scan there;
                   unique on the place. Text columns that may be absent hold '' (so the unique index
                   treats "no commit" as one value); `encoding` is the decoding chain joined by '+'
    sightings      which scan saw which finding (exact `--scan` filtering, times seen)
    skipped        per scan, every input that was not (fully) scanned, with reason and detail
    triage_events  history of triage status changes
    iam_keys       IAM enrichment per AWS access key id (owner, state, timeline, verification), with the
                   time it was fetched (cache TTL); joined to findings on key_id

No column ever holds a secret: fingerprints, redacted previews and AWS key ids (identifiers) only.
`findings.key_id` is indexed so that IAM enrichment (a later table keyed by key id) can join on it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

MIGRATION_SET = "keysweep"
# sqlite-utils records applied steps here (one row per step: migration_set, name, applied_at).
MIGRATIONS_TABLE = "_sqlite_migrations"

_STEPS: list[Callable[[Database], None]] = []
# Every migration name this version knows, in order. A database that has applied a name not in
# here was written by a newer keysweep; one that has applied all of them needs nothing (the store
# then opens without importing sqlite-utils: see Store.open).
KNOWN_MIGRATIONS: list[str] = []


def _migration(function: Callable[[Database], None]) -> Callable[[Database], None]:
    _STEPS.append(function)
    KNOWN_MIGRATIONS.append(function.__name__)
    return function


@functools.cache
def migration_set() -> Migrations:
    """The steps as a sqlite-utils `Migrations` set (imported on first use: only a new or older
    database needs it)."""
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(MIGRATION_SET)
    if migrations.migrations_table != MIGRATIONS_TABLE:
        raise RuntimeError(f"sqlite-utils keeps its migrations in {migrations.migrations_table!r} now.")
    for step in _STEPS:
        migrations()(step)
    return migrations


@_migration
def m001_scans(db: Database) -> None:
    db.table("scans").create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "targets": str,
            "tool_version": str,
            "blobs": int,
            "bytes": int,
            "duration_seconds": float,
            "rules": int,
            "findings": int,
            "occurrences": int,
            "new_findings": int,
            "suppressed": int,
            "skipped": int,
            "status": str,
            "notes": str,
        },
        pk="id",
        not_null=[
            "started_at",
            "finished_at",
            "targets",
            "tool_version",
            "blobs",
            "bytes",
            "duration_seconds",
            "rules",
            "findings",
            "occurrences",
            "new_findings",
            "suppressed",
            "skipped",
            "status",
            "notes",
        ],
    )


@_migration
def m002_findings(db: Database) -> None:
    findings = db.table("findings")
    findings.create(
        {
            "fingerprint": str,
            "rule_id": str,
            "rule_name": str,
            "severity": str,
            "secret_preview": str,
            "key_id": str,
            "secret_found": int,
            "first_seen_at": str,
            "first_seen_scan": int,
            "last_seen_at": str,
            "last_seen_scan": int,
            "times_seen": int,
            "status": str,
            "status_note": str,
            "status_updated_at": str,
        },
        pk="fingerprint",
        not_null=[
            "rule_id",
            "rule_name",
            "severity",
            "secret_preview",
            "first_seen_at",
            "first_seen_scan",
            "last_seen_at",
            "last_seen_scan",
            "times_seen",
            "status",
        ],
        defaults={"status": "open", "times_seen": 1},
        foreign_keys=[("first_seen_scan", "scans", "id"), ("last_seen_scan", "scans", "id")],
    )
    findings.create_index(["rule_id"])
    findings.create_index(["status"])
    findings.create_index(["key_id"])


@_migration
def m003_locations(db: Database) -> None:
    locations = db.table("locations")
    locations.create(
        {
            "id": int,
            "fingerprint": str,
            "source": str,
            "origin": str,
            "path": str,
            "line": int,
            "col": int,
            "commit_id": str,
            "blob_id": str,
            "encoding": str,
            "first_scan": int,
            "last_scan": int,
        },
        pk="id",
        not_null=[
            "fingerprint",
            "source",
            "origin",
            "path",
            "line",
            "col",
            "commit_id",
            "blob_id",
            "encoding",
            "first_scan",
            "last_scan",
        ],
        defaults={"commit_id": "", "blob_id": "", "encoding": ""},
        foreign_keys=[
            ("fingerprint", "findings", "fingerprint"),
            ("first_scan", "scans", "id"),
            ("last_scan", "scans", "id"),
        ],
    )
    # The place; fingerprint first, so it also serves "the locations of this finding".
    locations.create_index(
        ["fingerprint", "source", "origin", "path", "line", "col", "commit_id", "blob_id", "encoding"],
        index_name="locations_place",
        unique=True,
    )


@_migration
def m004_sightings(db: Database) -> None:
    sightings = db.table("sightings")
    sightings.create(
        {"scan_id": int, "fingerprint": str},
        pk=("scan_id", "fingerprint"),
        not_null=["scan_id", "fingerprint"],
        foreign_keys=[("scan_id", "scans", "id"), ("fingerprint", "findings", "fingerprint")],
    )
    sightings.create_index(["fingerprint"])


@_migration
def m005_skipped(db: Database) -> None:
    skipped = db.table("skipped")
    skipped.create(
        {
            "id": int,
            "scan_id": int,
            "source": str,
            "origin": str,
            "path": str,
            "commit_id": str,
            "blob_id": str,
            "reason": str,
            "detail": str,
        },
        pk="id",
        not_null=["scan_id", "source", "origin", "path", "commit_id", "blob_id", "reason", "detail"],
        defaults={"commit_id": "", "blob_id": ""},
        foreign_keys=[("scan_id", "scans", "id")],
    )
    skipped.create_index(["scan_id"])


@_migration
def m006_triage_events(db: Database) -> None:
    events = db.table("triage_events")
    events.create(
        {
            "id": int,
            "fingerprint": str,
            "old_status": str,
            "new_status": str,
            "note": str,
            "at": str,
        },
        pk="id",
        not_null=["fingerprint", "old_status", "new_status", "at"],
        foreign_keys=[("fingerprint", "findings", "fingerprint")],
    )
    events.create_index(["fingerprint"])


@_migration
def m007_iam_keys(db: Database) -> None:
    """IAM enrichment, one row per AWS access key id (one key, many findings: join on findings.key_id).

    `record` is the whole enrichment as JSON (never a secret: `--verify` stores its result, not what it
    used); the other columns are what `keysweep findings --live/--owner/--account` filter on.
    `fetched_at` drives the cache TTL; `first_exposed_at` keeps the earliest exposure seen (a commit date
    when git history told it). `live` is 1, 0 or NULL (not known).
    """
    keys = db.table("iam_keys")
    keys.create(
        {
            "key_id": str,
            "account_id": str,
            "account_name": str,
            "ownership": str,
            "state": str,
            "principal": str,
            "user_name": str,
            "owner": str,
            "contacts": str,
            "live": int,
            "timeline": str,
            "first_exposed_at": str,
            "exposure_source": str,
            "fetched_at": str,
            "verified_at": str,
            "record": str,
        },
        pk="key_id",
        not_null=["ownership", "state", "contacts", "fetched_at", "record"],
        defaults={"contacts": ""},
    )
    keys.create_index(["account_id"])
    keys.create_index(["state"])


@_migration
def m008_scanned_objects(db: Database) -> None:
    """Which git objects of which repository were already scanned, and with which rules.

    Incremental history scans read only objects not listed here for the repository and the current
    rules digest (a change of rules rescans everything). `repo_key` identifies the repository's git
    directory; `blob_id` is an object id (an identifier, never content).
    """
    objects = db.table("scanned_objects")
    objects.create(
        {"repo_key": str, "blob_id": str, "rules_digest": str, "scan_id": int},
        pk=("repo_key", "blob_id"),
        not_null=["rules_digest"],
    )
    objects.create_index(["repo_key", "rules_digest"])


@_migration
def m009_hygiene(db: Database) -> None:
    """Key hygiene (the `hygiene` package): mail sent to owners, and remediation actions.

    `hygiene_mail`: one row per message sent (or refused by the server), with the digest of the results
    it carried; an owner is not mailed the same digest again within the reporting period.
    `hygiene_actions`: every remediation, dry-run or applied, with its outcome (an audit trail).
    Neither ever holds a secret: key ids, user names, addresses.
    """
    mail = db.table("hygiene_mail")
    mail.create(
        {
            "id": int,
            "sent_at": str,
            "recipient": str,
            "subject": str,
            "digest": str,
            "transport": str,
            "status": str,
            "message_id": str,
            "results": int,
            "detail": str,
        },
        pk="id",
        not_null=["sent_at", "recipient", "digest", "transport", "status"],
    )
    mail.create_index(["recipient", "digest"])
    actions = db.table("hygiene_actions")
    actions.create(
        {
            "id": int,
            "at": str,
            "action": str,
            "account_id": str,
            "user_name": str,
            "key_id": str,
            "applied": int,
            "outcome": str,
            "detail": str,
            "actor": str,
        },
        pk="id",
        not_null=["at", "action", "account_id", "applied", "outcome"],
    )
    actions.create_index(["key_id"])


@_migration
def m010_scanned_object_sets(db: Database) -> None:
    """Scanned git objects as one row per scan and repository, the ids packed in a BLOB.

    m008 stored one row per object: a 60,000-blob history cost 60,000 rows (three b-tree inserts each,
    0.4 s per scan) and an organisation sweep millions. `object_ids` holds the new objects' raw ids
    back to back (`id_bytes` each: 20 for SHA-1, 32 for SHA-256), sorted. Rows of another rules digest
    are dropped when a scan records its own (those objects are read again anyway). m008's rows are
    carried over, one set per (repository, digest, scan).
    """
    sets = db.table("scanned_object_sets")
    sets.create(
        {
            "id": int,
            "repo_key": str,
            "rules_digest": str,
            "scan_id": int,
            "id_bytes": int,
            "object_count": int,
            "object_ids": bytes,
        },
        pk="id",
        not_null=["repo_key", "rules_digest", "id_bytes", "object_count", "object_ids"],
    )
    sets.create_index(["repo_key", "rules_digest"])
    if "scanned_objects" not in db.table_names():
        return
    groups: dict[tuple[str, str, int | None, int], list[bytes]] = {}
    for repo_key, blob_id, rules_digest, scan_id in db.execute(
        "SELECT repo_key, blob_id, rules_digest, scan_id FROM scanned_objects"
    ).fetchall():
        try:
            raw = bytes.fromhex(blob_id)
        except (TypeError, ValueError):
            continue
        groups.setdefault((repo_key, rules_digest, scan_id, len(raw)), []).append(raw)
    for (repo_key, rules_digest, scan_id, width), ids in groups.items():
        ids.sort()
        sets.insert(
            {
                "repo_key": repo_key,
                "rules_digest": rules_digest,
                "scan_id": scan_id,
                "id_bytes": width,
                "object_count": len(ids),
                "object_ids": b"".join(ids),
            }
        )
    db.table("scanned_objects").drop()
