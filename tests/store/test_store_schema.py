"""Opening the findings database: migrations, WAL, and refusing files that are not ours."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from scanner.model import Finding, Location, Severity, SourceKind, fingerprint_of, redact
from scanner.result import ScanResult
from scanner.store import Store, StoreError, schema
from scanner.store.migrations import KNOWN_MIGRATIONS, MIGRATION_SET, migration_set

TABLES = {"scans", "findings", "locations", "sightings", "skipped", "triage_events"}
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TOKEN = "ghp_" + "Vb7Rt2Nq9Xm4Kw1Lp8Zs3Hd6Jc0Fy5Ga2Ue7"


def one_finding_scan() -> ScanResult:
    finding = Finding(
        rule_id="github-pat",
        rule_name="GitHub personal access token",
        severity=Severity.HIGH,
        location=Location(SourceKind.FILE, "/repo", "app/settings.py"),
        line=3,
        column=9,
        secret=TOKEN,
        fingerprint=fingerprint_of("github-pat", TOKEN),
        preview=redact(TOKEN),
    )
    return ScanResult(targets=("/repo",), started_at=START, findings=(finding,))


def applied(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT name, applied_at FROM _sqlite_migrations WHERE migration_set = ? ORDER BY id",
            (MIGRATION_SET,),
        ).fetchall()


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_fresh_file_gets_the_schema_and_the_migrations_table_records_every_step(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "down" / "keysweep.db"
    with Store.open(path):
        pass
    assert path.is_file()
    assert TABLES | {"_sqlite_migrations"} <= tables(path)
    assert [name for name, _ in applied(path)] == KNOWN_MIGRATIONS
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_applies_nothing_new_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    with Store.open(path) as store:
        store.record_scan(one_finding_scan(), START)
    before = applied(path)
    with Store.open(path) as store:
        assert len(store.list_findings()) == 1
    assert applied(path) == before


def test_no_column_is_meant_for_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    with Store.open(path):
        pass
    with sqlite3.connect(path) as conn:
        for table in TABLES:
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            assert not {"secret", "secret_value", "value", "match"} & columns, table


def test_a_corrupt_file_is_a_store_error_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    path.write_bytes(random.Random(5).randbytes(8192))
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    message = str(caught.value)
    assert str(path) in message and message.endswith(".") and message[0].isupper()
    assert "\n" not in message


def test_another_programs_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    with pytest.raises(StoreError, match="not a keysweep findings database"):
        Store.open(path)
    assert tables(path) == {"users"}


def test_a_schema_newer_than_this_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    with Store.open(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            (MIGRATION_SET, "m999_from_the_future", "2099-01-01"),
        )
    with pytest.raises(StoreError, match=r"newer keysweep .*m999_from_the_future.*upgrade"):
        Store.open(path)


def test_open_without_create_refuses_a_missing_file_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="no findings database"):
        Store.open(path, create=False)
    assert not path.exists()


def test_an_empty_file_becomes_a_database(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    path.touch()
    with Store.open(path) as store:
        assert store.list_findings() == []


def test_several_processes_opening_a_fresh_file_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Store.open(path).close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [name for name, _ in applied(path)] == KNOWN_MIGRATIONS


def test_a_reader_does_not_block_a_scan_and_a_second_writer_waits(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    with Store.open(path) as store:
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM findings").fetchone() == (0,)  # holds a snapshot
        store.record_scan(one_finding_scan(), START)  # WAL: the open read does not block this
        assert reader.execute("SELECT count(*) FROM findings").fetchone() == (0,)
        reader.execute("COMMIT")
        reader.close()

        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock for a moment
        releaser = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        releaser.start()
        started = time.monotonic()
        store.record_scan(one_finding_scan(), START)  # waits (busy timeout) instead of failing
        assert time.monotonic() - started >= 0.2
        releaser.join()
        other.close()
        assert store.list_findings()[0].times_seen == 2


def test_a_database_without_the_latest_step_gets_it(tmp_path: Path) -> None:
    """An older keysweep's database: the schema is brought up to date (sqlite-utils is loaded for
    it; a current database opens with plain sqlite3)."""
    path = tmp_path / "keysweep.db"
    with sqlite3.connect(path) as conn:
        migration_set().apply(Database(conn), stop_before=KNOWN_MIGRATIONS[-1])
    assert [name for name, _ in applied(path)] == KNOWN_MIGRATIONS[:-1]
    with Store.open(path) as store:
        store.record_scan(one_finding_scan(), START)
        assert len(store.list_findings()) == 1
    assert [name for name, _ in applied(path)] == KNOWN_MIGRATIONS


def catalogue(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        return sorted(
            conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
        )


def test_schema_sql_is_what_the_migrations_create() -> None:
    assert schema.SCHEMA_FILE.read_text(encoding="utf-8") == schema.render(), (
        "migrations.py changed: run `python -m scanner.store.schema > scanner/store/schema.sql`"
    )


def test_a_new_database_from_schema_sql_equals_one_the_migrations_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_snapshot = tmp_path / "snapshot.db"
    with Store.open(from_snapshot):
        pass
    monkeypatch.setattr(schema, "migrations_digest", lambda: "a migrations.py schema.sql was not made from")
    assert schema.statements() is None
    migrated = tmp_path / "migrated.db"
    with Store.open(migrated) as store:  # a stale schema.sql is not used: the steps run
        store.record_scan(one_finding_scan(), START)
    assert catalogue(from_snapshot) == catalogue(migrated)
    assert [name for name, _ in applied(from_snapshot)] == [name for name, _ in applied(migrated)]


def test_scanned_objects_are_recorded_as_sets_and_a_new_rules_digest_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    first = {f"{n:040x}" for n in range(1000)}
    later = {f"{n:040x}" for n in range(900, 1100)}
    sha256 = {"ab" * 32}
    with Store.open(path) as store:
        scan_id = store.record_scan(one_finding_scan(), START).scan_id
        assert store.record_scanned_objects("/repo/.git", first, "rules-1", scan_id) == 1000
        assert store.record_scanned_objects("/repo/.git", later | sha256, "rules-1", scan_id) == 101
        assert store.record_scanned_objects("/other/.git", {"ff" * 20}, "rules-1", scan_id) == 1
        assert store.scanned_objects("/repo/.git", "rules-1") == first | later | sha256
        assert store.scanned_objects("/repo/.git", "rules-2") == frozenset()
        assert store.record_scanned_objects("/repo/.git", {"00" * 20}, "rules-2", scan_id) == 1
        assert store.scanned_objects("/repo/.git", "rules-1") == frozenset()  # dropped: read again anyway
        assert store.scanned_objects("/other/.git", "rules-1") == {"ff" * 20}
    with sqlite3.connect(path) as conn:  # ids only, packed: no row per object
        assert conn.execute("SELECT COUNT(*) FROM scanned_object_sets").fetchone()[0] == 2


def test_scanned_objects_of_a_database_from_before_the_sets_are_carried_over(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    steps = KNOWN_MIGRATIONS.index("m010_scanned_object_sets")
    db = Database(path)
    from scanner.store import migrations

    for step in migrations._STEPS[:steps]:  # a database written before m010
        step(db)
    db.execute(
        "CREATE TABLE _sqlite_migrations"
        " (id INTEGER PRIMARY KEY, migration_set TEXT, name TEXT, applied_at TEXT)"
    )
    for name in KNOWN_MIGRATIONS[:steps]:
        db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            (MIGRATION_SET, name, "2026-01-01"),
        )
    old = [f"{n:040x}" for n in range(50)]
    db.table("scanned_objects").insert_all(
        [{"repo_key": "/repo/.git", "blob_id": oid, "rules_digest": "rules-1", "scan_id": 1} for oid in old]
    )
    db.conn.commit()
    db.close()
    with Store.open(path) as store:
        assert store.scanned_objects("/repo/.git", "rules-1") == frozenset(old)
    assert "scanned_objects" not in tables(path)
