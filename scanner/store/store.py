"""The findings database: scans, findings by fingerprint, their locations, triage.

One SQLite file in WAL mode with a busy timeout, so that a long scan recording its results and a
`keysweep findings` reading them can run at the same time. Writes take the write lock up front
(`BEGIN IMMEDIATE`) so two writers queue instead of failing half-way; reads see one snapshot.
Every `sqlite3` error leaves this module as a `StoreError` with a sentence naming the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from scanner import __version__
from scanner.model import TriageStatus
from scanner.result import ScanResult
from scanner.store.migrations import KNOWN_MIGRATIONS, MIGRATION_SET, MIGRATIONS_TABLE, migration_set
from scanner.store.rows import (
    FINDING_COLUMNS,
    FINDING_UPSERT,
    IAM_UPSERT,
    LOCATION_UPSERT,
    _chunks,
    _placeholders,
    by_fingerprint,
    existing_fingerprints,
    finding_row,
    iam_row,
    insert_scan,
    location_row,
    parse_timestamp,
    resolve,
    stored_finding,
    stored_key_enrichment,
    stored_scan,
    timestamp,
    where_clauses,
    with_locations,
)
from scanner.store.values import (
    FindingFilter,
    RecordedScan,
    ScanStatus,
    StoredFinding,
    StoredKeyEnrichment,
    StoredScan,
    StoreError,
    TriageEvent,
)

# How long a connection waits for another one's write lock before giving up.
BUSY_TIMEOUT_SECONDS = 30.0


class Store:
    """The findings database. Open with `Store.open(path)`; use as a context manager or `close()`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Store:
        """Open (and with `create`, create) the database at `path`, bringing its schema up to date.

        A database whose schema is current (every known step applied: the usual case) is opened with
        plain sqlite3, and a new one gets `schema.sql` (see schema.py): sqlite-utils, which applies the
        steps, is imported only to bring an older database up to date (importing it costs a CI step or a
        pre-commit hook a visible share of its start-up).
        """
        path = Path(path)
        if not create and not path.exists():
            raise StoreError(f"There is no findings database at {path}.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the directory for the findings database {path}: {exc}.") from exc
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the findings database {path}: {exc}.") from exc
        try:
            conn.execute("PRAGMA recursive_triggers = ON")  # as sqlite-utils' Database sets it
            conn.execute("PRAGMA foreign_keys = ON")
            applied = _check_schema(conn, path)
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = wal")  # outside a transaction (none is open yet)
            conn.execute("PRAGMA synchronous = NORMAL")
            if not set(KNOWN_MIGRATIONS) <= set(applied):
                _migrate(conn, fresh=not applied)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(
                f"The file {path} cannot be used as a findings database: {_reason(exc)}."
            ) from exc
        except BaseException:
            conn.close()
            raise
        return cls(path, conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # Writing

    def record_scan(
        self, result: ScanResult, finished_at: datetime, status: ScanStatus = ScanStatus.COMPLETE
    ) -> RecordedScan:
        """Record a finished scan: its counts, its reported findings and their locations, what it skipped.

        Suppressed findings are not stored as findings. One whose fingerprint the database already
        knows (typically silenced by its triage status) still counts as a sighting: its last-seen
        time and locations are kept current, so a finding accepted as a risk does not look gone.
        "Seen at" is the scan's start time.
        """
        reported = by_fingerprint(result.findings)
        suppressed = by_fingerprint(result.suppressed)
        seen_at = timestamp(result.started_at)
        with self._write("record the scan") as conn:
            scan_id = insert_scan(conn, result, finished_at, status, distinct=len(reported))
            known = existing_fingerprints(conn, set(reported) | set(suppressed))
            new = frozenset(reported) - known
            sightings = {
                fingerprint: [*reported.get(fingerprint, ()), *suppressed.get(fingerprint, ())]
                for fingerprint in [*reported, *(fp for fp in suppressed if fp in known)]
            }
            conn.executemany(
                FINDING_UPSERT,
                [finding_row(group, scan_id, seen_at) for group in sightings.values()],
            )
            conn.executemany(
                LOCATION_UPSERT,
                [location_row(finding, scan_id) for group in sightings.values() for finding in group],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO sightings (scan_id, fingerprint) VALUES (?, ?)",
                [(scan_id, fingerprint) for fingerprint in sightings],
            )
            conn.executemany(
                "INSERT INTO skipped (scan_id, source, origin, path, commit_id, blob_id, reason, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        scan_id,
                        str(skip.location.source),
                        skip.location.origin,
                        skip.location.path,
                        skip.location.commit or "",
                        skip.location.blob_id or "",
                        str(skip.reason),
                        skip.detail,
                    )
                    for skip in result.skipped
                ],
            )
            conn.execute("UPDATE scans SET new_findings = ? WHERE id = ?", (len(new), scan_id))
        return RecordedScan(scan_id, new, frozenset(sightings))

    def set_status(
        self,
        fingerprint: str,
        status: TriageStatus | str,
        note: str | None = None,
        *,
        at: datetime | None = None,
    ) -> StoredFinding:
        """Triage the finding named by `fingerprint` (or a unique prefix of at least 8 characters).

        The note replaces the previous one (a new status without a note clears it). Every change is
        also recorded in the triage history, with the old status.
        """
        new_status = TriageStatus(status)
        when = timestamp(at or datetime.now(UTC))
        with self._write("change the triage status") as conn:
            full = resolve(conn, fingerprint)
            (old_status,) = conn.execute(
                "SELECT status FROM findings WHERE fingerprint = ?", (full,)
            ).fetchone()
            conn.execute(
                "UPDATE findings SET status = ?, status_note = ?, status_updated_at = ?"
                " WHERE fingerprint = ?",
                (str(new_status), note, when, full),
            )
            conn.execute(
                "INSERT INTO triage_events (fingerprint, old_status, new_status, note, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (full, old_status, str(new_status), note, when),
            )
        return self.get_finding(full)

    # Reading

    def triage_statuses(self) -> dict[str, TriageStatus]:
        """The status of every finding triaged to something other than `open`, by fingerprint.

        A fingerprint absent from the result is open or unknown; a scan silences the ones whose
        status `silences`.
        """
        with self._read("read triage statuses") as conn:
            rows = conn.execute("SELECT fingerprint, status FROM findings WHERE status != 'open'").fetchall()
        return {fingerprint: TriageStatus(status) for fingerprint, status in rows}

    def get_finding(self, fingerprint: str) -> StoredFinding:
        """The finding named by `fingerprint` or a unique prefix of it (at least 8 characters)."""
        with self._read("read a finding") as conn:
            full = resolve(conn, fingerprint)
            rows = conn.execute(f"SELECT {FINDING_COLUMNS} FROM findings f WHERE fingerprint = ?", (full,))
            return with_locations(conn, [stored_finding(row) for row in rows])[0]

    def list_findings(self, filters: FindingFilter | None = None) -> list[StoredFinding]:
        """Stored findings matching `filters`, most severe first, then most recently seen; each with
        every one of its locations."""
        where, params = where_clauses(filters or FindingFilter())
        sql = f"SELECT {FINDING_COLUMNS} FROM findings f"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._read("list findings") as conn:
            found = [stored_finding(row) for row in conn.execute(sql, params)]
            found.sort(key=lambda f: (-f.severity.rank, -f.last_seen_scan, f.rule_id, f.fingerprint))
            return with_locations(conn, found)

    def triage_history(self, fingerprint: str) -> list[TriageEvent]:
        """Every status change of one finding, oldest first."""
        with self._read("read the triage history") as conn:
            full = resolve(conn, fingerprint)
            rows = conn.execute(
                "SELECT fingerprint, old_status, new_status, note, at FROM triage_events"
                " WHERE fingerprint = ? ORDER BY id",
                (full,),
            ).fetchall()
        return [
            TriageEvent(fp, TriageStatus(old), TriageStatus(new), note, parse_timestamp(at))
            for fp, old, new, note, at in rows
        ]

    def scans(self) -> list[StoredScan]:
        """Every recorded scan, oldest first."""
        with self._read("list scans") as conn:
            rows = conn.execute(
                "SELECT id, started_at, finished_at, targets, tool_version, blobs, bytes, duration_seconds,"
                " rules, findings, occurrences, new_findings, suppressed, skipped, status, notes"
                " FROM scans ORDER BY id"
            ).fetchall()
        return [stored_scan(row) for row in rows]

    # IAM enrichment (one row per AWS access key id)

    def save_key_enrichments(self, enrichments: Iterable[StoredKeyEnrichment]) -> int:
        """Insert or replace the enrichment of each key id. A stored first exposure is kept when the new
        one is unknown. Returns how many were written."""
        rows = [iam_row(enrichment) for enrichment in enrichments]
        with self._write("record IAM enrichment") as conn:
            conn.executemany(IAM_UPSERT, rows)
        return len(rows)

    def key_enrichments(self, key_ids: Iterable[str] | None = None) -> dict[str, StoredKeyEnrichment]:
        """The stored enrichment of these key ids (all of them when None), by key id."""
        columns = "key_id, record, fetched_at, first_exposed_at, exposure_source, timeline"
        with self._read("read IAM enrichment") as conn:
            if key_ids is None:
                rows = conn.execute(f"SELECT {columns} FROM iam_keys").fetchall()
            else:
                wanted = sorted({k.strip().upper() for k in key_ids})
                rows = []
                for chunk in _chunks(wanted):
                    rows.extend(
                        conn.execute(
                            f"SELECT {columns} FROM iam_keys WHERE key_id IN ({_placeholders(chunk)})", chunk
                        ).fetchall()
                    )
        return {row[0]: stored_key_enrichment(row) for row in rows}

    def aws_key_sightings(self, statuses: Iterable[TriageStatus] = ()) -> dict[str, datetime]:
        """Every AWS access key id in the findings (optionally only findings with these triage statuses),
        with the first time keysweep saw it."""
        sql = "SELECT key_id, min(first_seen_at) FROM findings WHERE key_id IS NOT NULL AND key_id != ''"
        wanted = sorted(str(status) for status in statuses)
        if wanted:
            sql += f" AND status IN ({_placeholders(wanted)})"
        sql += " GROUP BY key_id"
        with self._read("list AWS key ids") as conn:
            rows = conn.execute(sql, wanted).fetchall()
        return {str(key_id).upper(): parse_timestamp(first) for key_id, first in rows}

    def first_seen(self, fingerprints: Iterable[str]) -> dict[str, datetime]:
        """When each of these findings was first seen (findings not in the database are left out)."""
        found: dict[str, datetime] = {}
        with self._read("read first sightings") as conn:
            for chunk in _chunks(sorted(set(fingerprints))):
                rows = conn.execute(
                    "SELECT fingerprint, first_seen_at FROM findings"
                    f" WHERE fingerprint IN ({_placeholders(chunk)})",
                    chunk,
                )
                found.update((fingerprint, parse_timestamp(first)) for fingerprint, first in rows)
        return found

    # Transactions

    def scanned_objects(self, repo_key: str, rules_digest: str) -> frozenset[str]:
        """The object ids of a repository already scanned with these rules (incremental scans)."""
        with self._read("read the scanned objects") as conn:
            rows = conn.execute(
                "SELECT id_bytes, object_ids FROM scanned_object_sets"
                " WHERE repo_key = ? AND rules_digest = ?",
                (repo_key, rules_digest),
            ).fetchall()
        found: set[str] = set()
        for width, packed in rows:
            found.update(packed[at : at + width].hex() for at in range(0, len(packed), width))
        return frozenset(found)

    def record_scanned_objects(
        self, repo_key: str, blob_ids: Iterable[str], rules_digest: str, scan_id: int
    ) -> int:
        """Remember that these objects were scanned with these rules: one row holding those not yet
        recorded. Sets recorded with other rules are dropped (their objects are read again under
        these). Returns how many were new."""
        known = self.scanned_objects(repo_key, rules_digest)
        new = sorted(bytes.fromhex(oid) for oid in set(blob_ids) if oid not in known)
        with self._write("record the scanned objects") as conn:
            conn.execute(
                "DELETE FROM scanned_object_sets WHERE repo_key = ? AND rules_digest != ?",
                (repo_key, rules_digest),
            )
            for width in sorted({len(raw) for raw in new}):
                same = [raw for raw in new if len(raw) == width]
                conn.execute(
                    "INSERT INTO scanned_object_sets (repo_key, rules_digest, scan_id, id_bytes,"
                    " object_count, object_ids) VALUES (?, ?, ?, ?, ?, ?)",
                    (repo_key, rules_digest, scan_id, width, len(same), b"".join(same)),
                )
        return len(new)

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._errors(action):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    @contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._errors(action):
            self._conn.execute("BEGIN")  # one snapshot for the findings and their locations
            try:
                yield self._conn
            finally:
                self._conn.rollback()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(
                f"Could not {action} in the findings database {self.path}: {_reason(exc)}."
            ) from exc


def _check_schema(conn: sqlite3.Connection, path: Path) -> list[str]:
    """The names of the schema steps applied, in order. Refuse files that hold something else, or a
    schema newer than this version knows."""
    tables = _table_names(conn)  # the first read: a file that is not SQLite fails here
    if not tables:
        return []
    applied = _applied(conn) if MIGRATIONS_TABLE in tables else []
    if not applied:
        listed = ", ".join(sorted(tables)[:5])
        raise StoreError(
            f"The file {path} is an SQLite database but not a keysweep findings database"
            f" (it has tables {listed} and no {MIGRATION_SET!r} schema)."
        )
    unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
    if unknown:
        raise StoreError(
            f"The findings database {path} was written by a newer keysweep (schema steps"
            f" {', '.join(unknown)} are unknown to version {__version__}); upgrade keysweep to use it."
        )
    return applied


def _applied(conn: sqlite3.Connection) -> list[str]:
    """What sqlite-utils' `Migrations.applied` reads, without importing it."""
    rows = conn.execute(
        f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ? ORDER BY rowid", (MIGRATION_SET,)
    )
    return [row[0] for row in rows]


def _migrate(conn: sqlite3.Connection, *, fresh: bool) -> None:
    """Bring the schema up to date. An empty file gets `schema.sql` (what the steps create; see
    schema.py), any other the pending steps, applied by sqlite-utils."""
    statements = None
    if fresh:
        from scanner.store.schema import statements as schema_statements

        statements = schema_statements()
    # Two processes opening a fresh file must not both create the tables.
    conn.execute("BEGIN IMMEDIATE")
    try:
        if statements is not None and not _table_names(conn):
            for statement in statements:
                conn.execute(statement)
            applied_at = str(datetime.now(UTC))  # as sqlite-utils records it
            conn.executemany(
                f"INSERT INTO {MIGRATIONS_TABLE} (migration_set, name, applied_at) VALUES (?, ?, ?)",
                [(MIGRATION_SET, name, applied_at) for name in KNOWN_MIGRATIONS],
            )
        else:
            from sqlite_utils import Database

            migration_set().apply(Database(conn, execute_plugins=False))
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _table_names(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _reason(exc: sqlite3.Error) -> str:
    return str(exc).rstrip(".") or type(exc).__name__
