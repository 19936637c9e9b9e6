"""Recording scans and triaging findings through the `Store` API, on real SQLite files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scanner.model import (
    Finding,
    Location,
    Severity,
    Skipped,
    SkipReason,
    SourceKind,
    TriageStatus,
    fingerprint_of,
    redact,
)
from scanner.result import ScanResult, ScanStats
from scanner.store import FindingFilter, FingerprintError, ScanStatus, Store

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = START + timedelta(days=3)
# Made up for these tests.
TOKEN = "ghp_" + "Qw4Er8Ty2Ui6Op0As3Df7Gh1Jk5Lz9Xc4Vb8N"
KEY_ID = "AKIAZ7Q4W2E9R5T1Y3UB"
AWS_SECRET = "Lq8/Zr2Vt6Yw0Kx4Mb7Nc1Pd5Sf9Gh3Jk2Ln6P+"
PASSWORD = "correct-h0rse-Battery-staple-91x"


def finding(
    secret: str,
    path: str,
    *,
    rule_id: str = "github-pat",
    severity: Severity = Severity.HIGH,
    line: int = 1,
    source: SourceKind = SourceKind.FILE,
    origin: str = "/repo",
    commit: str | None = None,
    key_id: str | None = None,
    secret_found: bool | None = None,
    fingerprint: str | None = None,
    encoding: tuple[str, ...] = (),
) -> Finding:
    identity, family = (key_id, "aws-access-key") if key_id else (secret, rule_id)
    return Finding(
        rule_id=rule_id,
        rule_name=rule_id.replace("-", " "),
        severity=severity,
        location=Location(source, origin, path, commit),
        line=line,
        column=7,
        secret=secret,
        fingerprint=fingerprint or fingerprint_of(family, identity),
        preview=redact(secret),
        key_id=key_id,
        secret_found=secret_found,
        encoding=encoding,
    )


def aws(path: str, *, with_secret: bool = True, line: int = 1) -> Finding:
    return finding(
        AWS_SECRET if with_secret else KEY_ID,
        path,
        rule_id="aws-access-key-id",
        severity=Severity.CRITICAL,
        key_id=KEY_ID,
        secret_found=with_secret,
        line=line,
    )


def scan(
    *findings: Finding,
    suppressed: tuple[Finding, ...] = (),
    skipped: tuple[Skipped, ...] = (),
    at: datetime = START,
) -> ScanResult:
    return ScanResult(
        targets=("/repo",),
        started_at=at,
        findings=findings,
        suppressed=suppressed,
        skipped=skipped,
        stats=ScanStats(blobs=12, bytes=3456, duration_seconds=1.5, rules=40),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "keysweep.db") as opened:
        yield opened


def count(store: Store, table: str) -> int:
    with sqlite3.connect(store.path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


FIVE = tuple(finding(TOKEN, f"service{i}/config.py", line=i + 1) for i in range(5))


def test_one_secret_at_five_paths_is_one_finding_with_five_locations(store: Store) -> None:
    recorded = store.record_scan(scan(*FIVE), START + timedelta(minutes=1))
    assert recorded.scan_id == 1
    assert recorded.new_fingerprints == {FIVE[0].fingerprint}
    [stored] = store.list_findings()
    assert stored.fingerprint == FIVE[0].fingerprint
    assert stored.preview == redact(TOKEN) and stored.status is TriageStatus.OPEN
    assert [loc.location.path for loc in stored.locations] == [f"service{i}/config.py" for i in range(5)]
    assert stored.first_seen_at == START and stored.times_seen == 1
    [recorded_scan] = store.scans()
    assert (recorded_scan.findings, recorded_scan.occurrences, recorded_scan.new_findings) == (1, 5, 1)
    assert recorded_scan.blobs == 12 and recorded_scan.status is ScanStatus.COMPLETE
    assert recorded_scan.targets == ("/repo",)


def test_rescanning_the_same_result_adds_no_rows_and_bumps_last_seen(store: Store) -> None:
    store.record_scan(scan(*FIVE), START)
    rows = {table: count(store, table) for table in ("findings", "locations")}
    again = store.record_scan(scan(*FIVE, at=LATER), LATER)
    assert again.new_fingerprints == frozenset() and again.seen_fingerprints == {FIVE[0].fingerprint}
    assert {table: count(store, table) for table in rows} == rows == {"findings": 1, "locations": 5}
    [stored] = store.list_findings()
    assert (stored.first_seen_scan, stored.last_seen_scan, stored.times_seen) == (1, 2, 2)
    assert stored.first_seen_at == START and stored.last_seen_at == LATER
    assert {(loc.first_scan, loc.last_scan) for loc in stored.locations} == {(1, 2)}
    assert store.scans()[1].new_findings == 0


def test_a_new_location_on_rescan_is_added_and_the_old_ones_keep_their_last_scan(store: Store) -> None:
    store.record_scan(scan(*FIVE[:2]), START)
    store.record_scan(scan(FIVE[1], FIVE[2], at=LATER), LATER)
    [stored] = store.list_findings()
    spans = {loc.location.path: (loc.first_scan, loc.last_scan) for loc in stored.locations}
    assert spans == {"service0/config.py": (1, 1), "service1/config.py": (1, 2), "service2/config.py": (2, 2)}


def test_history_locations_are_distinct_per_commit_but_one_finding(store: Store) -> None:
    commits = [finding(TOKEN, "config.py", source=SourceKind.GIT, commit=c * 40) for c in "abc"]
    store.record_scan(scan(*commits), START)
    [stored] = store.list_findings()
    assert [loc.location.commit for loc in stored.locations] == ["a" * 40, "b" * 40, "c" * 40]


def test_triage_status_survives_a_rescan_and_the_change_is_recorded(store: Store) -> None:
    store.record_scan(scan(*FIVE), START)
    fingerprint = FIVE[0].fingerprint
    updated = store.set_status(fingerprint[:10], TriageStatus.ACCEPTED_RISK, "test fixture", at=START)
    assert updated.status is TriageStatus.ACCEPTED_RISK and updated.status_note == "test fixture"
    store.record_scan(scan(*FIVE, at=LATER), LATER)
    [stored] = store.list_findings()
    assert stored.status is TriageStatus.ACCEPTED_RISK and stored.status_note == "test fixture"
    assert stored.status_updated_at == START and stored.last_seen_scan == 2
    [event] = store.triage_history(fingerprint)
    assert (event.old_status, event.new_status, event.note, event.at) == (
        TriageStatus.OPEN,
        TriageStatus.ACCEPTED_RISK,
        "test fixture",
        START,
    )
    store.set_status(fingerprint, "revoked", at=LATER)
    assert [e.new_status for e in store.triage_history(fingerprint)] == ["accepted_risk", "revoked"]
    assert store.get_finding(fingerprint).status_note is None


def test_triage_statuses_list_the_triaged_findings_for_the_scan_to_silence(store: Store) -> None:
    other = finding(PASSWORD, "db.ini", rule_id="generic-password", severity=Severity.MEDIUM)
    store.record_scan(scan(*FIVE, other, aws("deploy.env")), START)
    store.set_status(FIVE[0].fingerprint, TriageStatus.FALSE_POSITIVE)
    store.set_status(other.fingerprint, TriageStatus.REVOKED)
    statuses = store.triage_statuses()
    assert statuses == {
        FIVE[0].fingerprint: TriageStatus.FALSE_POSITIVE,
        other.fingerprint: TriageStatus.REVOKED,
    }
    assert [fp for fp, status in statuses.items() if status.silences] == [FIVE[0].fingerprint]


def test_prefixes_that_name_no_finding_or_several_are_clear_errors(store: Store) -> None:
    twins = [finding(f"{PASSWORD}{n}", "a.py", fingerprint="abcdef12" + str(n) * 56) for n in (1, 2)]
    store.record_scan(scan(*twins), START)
    with pytest.raises(FingerprintError, match=r"prefix abcdef12 matches several findings .*more characters"):
        store.set_status("abcdef12", TriageStatus.REVOKED)
    assert store.set_status("ABCDEF121", TriageStatus.REVOKED).fingerprint == twins[0].fingerprint
    with pytest.raises(FingerprintError, match=r"No finding .* starting with 0123456789"):
        store.set_status("0123456789", TriageStatus.REVOKED)
    with pytest.raises(FingerprintError, match="too short: give at least 8"):
        store.get_finding("abcd")
    with pytest.raises(FingerprintError, match="not a fingerprint"):
        store.get_finding("not-hex-at-all")
    assert count(store, "triage_events") == 1


def test_no_secret_value_is_anywhere_in_the_database_file(store: Store) -> None:
    encoded = finding(PASSWORD, "values.yaml", rule_id="generic-password", encoding=("base64",))
    skipped = Skipped(
        Location(SourceKind.FILE, "/repo", "huge.bin"), SkipReason.TOO_LARGE, "2 GB is over 1 GB"
    )
    store.record_scan(
        scan(*FIVE, encoded, aws("a.env"), aws("b.env", with_secret=False), skipped=(skipped,)), START
    )
    store.record_scan(scan(aws("c.env"), at=LATER), LATER)
    store.set_status(FIVE[0].fingerprint, TriageStatus.REVOKED, "rotated on 2024-05-02")
    store.close()
    for leftover in store.path.parent.glob("keysweep.db*"):  # the database, and any WAL or SHM file
        raw = leftover.read_bytes()
        for secret in (TOKEN, AWS_SECRET, PASSWORD):
            assert secret.encode() not in raw, (leftover.name, secret[:4])
            assert secret.encode("utf-16-le") not in raw
    assert KEY_ID.encode() in store.path.read_bytes()  # a key id is an identifier, kept in clear


def test_an_aws_key_found_alone_and_with_its_secret_is_one_finding_whose_secret_was_found(
    store: Store,
) -> None:
    store.record_scan(scan(aws("alone.env", with_secret=False), aws("paired.env")), START)
    [stored] = store.list_findings()
    assert stored.key_id == KEY_ID and stored.secret_found is True
    assert stored.severity is Severity.CRITICAL and len(stored.locations) == 2
    store.record_scan(scan(aws("alone.env", with_secret=False), at=LATER), LATER)
    assert store.list_findings()[0].secret_found is True  # once found, stays found


def test_suppressed_findings_are_counted_not_stored_unless_already_known(store: Store) -> None:
    placeholder = finding(PASSWORD, "docs/readme.md").suppressed("placeholder")
    store.record_scan(scan(*FIVE, suppressed=(placeholder,)), START)
    assert [f.fingerprint for f in store.list_findings()] == [FIVE[0].fingerprint]
    assert store.scans()[0].suppressed == 1
    # Triaged as a false positive, the next scan silences it: it is still seen, not forgotten.
    store.set_status(FIVE[0].fingerprint, TriageStatus.FALSE_POSITIVE)
    moved = finding(TOKEN, "service9/config.py").suppressed("triage:false_positive")
    recorded = store.record_scan(scan(suppressed=(moved, placeholder), at=LATER), LATER)
    assert recorded.new_fingerprints == frozenset()
    assert recorded.seen_fingerprints == {FIVE[0].fingerprint}
    [stored] = store.list_findings()
    assert stored.last_seen_at == LATER and stored.status is TriageStatus.FALSE_POSITIVE
    assert "service9/config.py" in {loc.location.path for loc in stored.locations}
    assert count(store, "findings") == 1


def test_skipped_inputs_are_kept_per_scan_with_reason_and_detail(store: Store) -> None:
    skips = (
        Skipped(Location(SourceKind.FILE, "/repo", "big.iso"), SkipReason.TOO_LARGE, "3 GB is over 1 GB"),
        Skipped(Location(SourceKind.FILE, "/repo", "a.zip!b.zip"), SkipReason.BROKEN_ARCHIVE, "bad CRC"),
    )
    store.record_scan(scan(skipped=skips), START)
    assert store.scans()[0].skipped == 2
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT scan_id, path, reason, detail FROM skipped ORDER BY id").fetchall()
    assert rows == [
        (1, "big.iso", "too-large", "3 GB is over 1 GB"),
        (1, "a.zip!b.zip", "broken-archive", "bad CRC"),
    ]


@pytest.fixture
def populated(store: Store) -> Store:
    password = finding(PASSWORD, "deploy/db.ini", rule_id="generic-password", severity=Severity.MEDIUM)
    image = finding(
        "glpat-" + "Hy7Tq2Wm9Rk4Zp1Vx6Nb",
        "/app/.env",
        rule_id="gitlab-pat",
        source=SourceKind.IMAGE,
        origin="web:1",
    )
    store.record_scan(scan(*FIVE, password, aws("deploy/prod.env")), START)
    store.record_scan(scan(image, at=LATER), LATER)
    store.set_status(password.fingerprint, TriageStatus.FALSE_POSITIVE)
    return store


def rules(store: Store, **filters: object) -> list[str]:
    return [f.rule_id for f in store.list_findings(FindingFilter(**filters))]  # type: ignore[arg-type]


def test_listing_is_most_severe_first_and_every_filter_narrows_it(populated: Store) -> None:
    # Most severe first, then the most recently seen (gitlab-pat was seen by the later scan).
    assert rules(populated) == ["aws-access-key-id", "gitlab-pat", "github-pat", "generic-password"]
    assert rules(populated, statuses=frozenset({TriageStatus.FALSE_POSITIVE})) == ["generic-password"]
    assert rules(populated, statuses=frozenset({TriageStatus.OPEN})) == [
        "aws-access-key-id",
        "gitlab-pat",
        "github-pat",
    ]
    assert rules(populated, rule_id="github-pat") == ["github-pat"]
    assert rules(populated, min_severity=Severity.HIGH) == ["aws-access-key-id", "gitlab-pat", "github-pat"]
    assert rules(populated, min_severity=Severity.CRITICAL) == ["aws-access-key-id"]
    assert rules(populated, path="deploy/") == ["aws-access-key-id", "generic-password"]
    assert rules(populated, path="*.ini") == ["generic-password"]
    assert rules(populated, path="service[34]/*") == ["github-pat"]
    assert rules(populated, key_id=KEY_ID.lower()) == ["aws-access-key-id"]
    assert rules(populated, source=SourceKind.IMAGE) == ["gitlab-pat"]
    assert rules(populated, origin="web:1") == ["gitlab-pat"]
    assert rules(populated, scan_id=2) == ["gitlab-pat"]
    assert rules(populated, since=START + timedelta(days=1)) == ["gitlab-pat"]
    assert rules(populated, rule_id="github-pat", path="deploy/") == []


def test_a_filtered_finding_still_carries_every_location(populated: Store) -> None:
    [stored] = populated.list_findings(FindingFilter(path="service3/"))
    assert len(stored.locations) == 5
