"""Offline pieces: key id decoding, canaries, the [iam] configuration, the leak timeline."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from scanner.config import ConfigError, parse_config
from scanner.iam.canaries import THINKST, THINKST_ACCOUNTS, canary_vendor
from scanner.iam.keyid import decode_key_id
from scanner.iam.model import KeyEnrichment, KeyState, Ownership, TimelineState
from scanner.iam.timeline import COMMIT, FIRST_SEEN, SCAN, commit_date, first_exposure, timeline
from tests.iam.moto_world import fake_key_id


def test_published_example_decodes() -> None:
    # The worked example of the published method (Aidan Steele's post, Tal Be'ery's note).
    assert decode_key_id("ASIA" + "Y34FZKBOKMUTVV7A").account_id == "609629065308"


def test_round_trip_over_many_accounts() -> None:
    rng = random.Random(5)
    for _ in range(300):
        account = f"{rng.randrange(10**12):012d}"
        info = decode_key_id(fake_key_id(account))
        assert info.account_id == account and info.note is None and info.prefix == "AKIA"


@pytest.mark.parametrize("prefix", ["AKIAI", "AKIAJ"])
def test_old_format_says_it_cannot_be_decoded(prefix: str) -> None:
    info = decode_key_id(prefix + "Q7RT3ZK5MN2WX4P")
    assert info.account_id is None and "older key id format" in (info.note or "")


def test_not_a_key_id() -> None:
    info = decode_key_id("AIDAQ7RT3ZK5MN2WX4PQ")
    assert info.account_id is None and "not an AWS access key id" in (info.note or "")


def test_canaries() -> None:
    assert canary_vendor(sorted(THINKST_ACCOUNTS)[0]) == THINKST
    assert canary_vendor("044858866125") is not None
    assert canary_vendor("123456789012") is None
    assert canary_vendor("123456789012", {"123456789012": "ours"}) == "ours"


def test_iam_config() -> None:
    config = parse_config(
        '[iam]\nrole_name = "ro"\nexternal_id = "abc"\naccounts = ["111122223333"]\norganization = false\n'
        'cache_ttl = "2h"\nper_account_concurrency = 2\nmax_workers = 8\nverify_rate = 0.5\n'
        'retry_mode = "standard"\nmax_attempts = 4\nprofile = "audit"\nendpoint_url = "http://127.0.0.1:9"\n'
        'owner_tag_keys = ["owner"]\ncanary_accounts = ["999999999999"]\n',
        "k.toml",
    ).iam
    assert (config.role_name, config.external_id, config.accounts, config.organization) == (
        "ro", "abc", ("111122223333",), False,
    )  # fmt: skip
    assert config.cache_ttl_seconds == 7200 and config.verify_rate == 0.5
    assert (config.aws.per_account_concurrency, config.aws.max_workers, config.aws.max_attempts) == (2, 8, 4)
    assert (config.aws.retry_mode, config.aws.profile, config.aws.endpoint_url) == (
        "standard", "audit", "http://127.0.0.1:9",
    )  # fmt: skip
    assert config.canary_accounts == {"999999999999": "configured canary account"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[iam]\nbogus = 1\n", "unknown key(s) bogus"),
        ('[iam]\naccounts = ["123"]\n', "12 digits"),
        ('[iam]\ncache_ttl = "soon"\n', "not a duration"),
        ('[iam]\nretry_mode = "fast"\n', "retry_mode"),
        ("[iam]\nmax_attempts = 0\n", "max_attempts"),
    ],
)
def test_iam_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(text, "k.toml")


NOW = datetime(2026, 6, 1, tzinfo=UTC)


def ours(**fields: object) -> KeyEnrichment:
    return KeyEnrichment(
        "AKIAEXAMPLEKEY", Ownership.OURS, fields.pop("state", KeyState.ACTIVE), NOW, **fields
    )  # type: ignore[arg-type]


def test_timeline_states() -> None:
    leak = NOW - timedelta(days=10)
    created = NOW - timedelta(days=100)
    assert (
        timeline(ours(created_at=created, last_used_at=NOW), leak, COMMIT).state
        is TimelineState.USED_AFTER_LEAK
    )
    assert (
        timeline(ours(created_at=created, last_used_at=leak - timedelta(days=1)), leak, COMMIT).state
        is TimelineState.NOT_USED_SINCE_LEAK
    )
    assert timeline(ours(created_at=created), leak, COMMIT).state is TimelineState.NEVER_USED
    assert timeline(ours(created_at=NOW), leak, COMMIT).state is TimelineState.CREATED_AFTER_EXPOSURE
    assert timeline(ours(state=KeyState.DELETED), leak, COMMIT).state is TimelineState.UNKNOWN
    foreign = KeyEnrichment("AKIAEXAMPLEKEY", Ownership.FOREIGN, KeyState.FOREIGN, NOW)
    assert timeline(foreign, leak, COMMIT).state is TimelineState.UNKNOWN
    detail = timeline(ours(created_at=created), leak, SCAN).detail
    assert "may have leaked earlier" in detail


def test_first_exposure_prefers_commit_dates() -> None:
    provenance = {"first": {"commit": "abc", "date": "2025-03-04T05:06:07+02:00"}}
    assert commit_date(provenance) == datetime(2025, 3, 4, 3, 6, 7, tzinfo=UTC)
    assert commit_date({"first_commit_date": 1700000000}) == datetime.fromtimestamp(1700000000, UTC)
    assert commit_date({"nothing": 1}) is None
    seen = NOW - timedelta(days=3)
    assert first_exposure([provenance, None], [seen], NOW) == (commit_date(provenance), COMMIT)
    assert first_exposure([None], [seen, None], NOW) == (seen, FIRST_SEEN)
    assert first_exposure([], [], NOW) == (NOW, SCAN)
