"""The iam_keys table: one row per key id, filters on the findings list, the record round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from scanner.iam.model import KeyEnrichment, KeyState, Liveness, Ownership, Verification
from scanner.iam.service import enriched_from_store
from scanner.model import Finding, Location, Severity, SourceKind, fingerprint_of, redact
from scanner.result import ScanResult
from scanner.store import FindingFilter, Store, StoredKeyEnrichment

NOW = datetime(2026, 6, 1, tzinfo=UTC)
# Made-up key ids, assembled so that keysweep's scan of its own repository does not report them.
KEYS = {
    name: "AKIA" + "Q7RT3ZK5MN2WX4P" + last for name, last in (("alice", "A"), ("bob", "B"), ("gone", "C"))
}


def finding(key_id: str) -> Finding:
    return Finding(
        rule_id="aws-access-key-id",
        rule_name="AWS access key id",
        severity=Severity.HIGH,
        location=Location(SourceKind.FILE, "repo", "a.env"),
        line=1,
        column=1,
        secret=key_id,
        fingerprint=fingerprint_of("aws-access-key", key_id),
        preview=redact(key_id),
        key_id=key_id,
        secret_found=False,
    )


def test_store_round_trip_and_filters(tmp_path: Path) -> None:
    with Store.open(tmp_path / "k.db") as store:
        store.record_scan(ScanResult(("repo",), NOW, findings=tuple(map(finding, KEYS.values()))), NOW)
        rows = [
            KeyEnrichment(
                KEYS["alice"], Ownership.OURS, KeyState.ACTIVE, NOW, account_id="111122223333",
                account_name="prod", user_name="alice", contacts=(("owner", "alice@example.org"),),
                verification=Verification(Liveness.LIVE, NOW, "arn:aws:iam::111122223333:user/alice"),
            ),
            KeyEnrichment(
                KEYS["bob"], Ownership.OURS, KeyState.INACTIVE, NOW, account_id="444455556666",
                user_name="bob",
            ),
            KeyEnrichment(KEYS["gone"], Ownership.OURS, KeyState.DELETED, NOW, account_id="111122223333"),
        ]  # fmt: skip
        store.save_key_enrichments(
            StoredKeyEnrichment(r.key_id, r.as_record(), NOW, NOW - timedelta(days=1), "commit", "never-used")
            for r in rows
        )
        stored = store.key_enrichments(KEYS.values())
        assert set(stored) == set(KEYS.values())
        back = enriched_from_store(stored[KEYS["alice"]])
        assert back.enrichment == rows[0] and back.timeline.exposure_source == "commit"

        def keys(**filters: object) -> set[str | None]:
            return {f.key_id for f in store.list_findings(FindingFilter(**filters))}  # type: ignore[arg-type]

        assert keys(live=True) == {KEYS["alice"]}
        assert keys(owner="ALICE@") == {KEYS["alice"]}
        assert keys(owner="bob") == {KEYS["bob"]}
        assert keys(account="111122223333") == {KEYS["alice"], KEYS["gone"]}
        assert keys(account="prod") == {KEYS["alice"]}

        # A later save without an exposure keeps the stored one.
        store.save_key_enrichments([StoredKeyEnrichment(KEYS["bob"], rows[1].as_record(), NOW)])
        assert store.key_enrichments([KEYS["bob"]])[KEYS["bob"]].exposure_source == "commit"
        assert set(store.aws_key_sightings()) == set(KEYS.values())
