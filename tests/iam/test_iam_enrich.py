"""Enrichment against a seeded moto Organization on loopback (moto_world.py: what the proxy fills in)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from scanner.aws.session import AwsClients
from scanner.iam.canaries import THINKST_ACCOUNTS
from scanner.iam.config import IamConfig
from scanner.iam.enrich import EnrichmentRun, enrich_keys
from scanner.iam.model import KeyEnrichment, KeyState, Ownership, TimelineState
from scanner.iam.timeline import COMMIT, timeline
from tests.iam.moto_world import (
    MANAGEMENT,
    Answer,
    Call,
    World,
    add_root_key,
    fake_key_id,
    iam_error,
)

pytestmark = pytest.mark.timeout(120)


def run(config: IamConfig, *key_ids: str, **kwargs: object) -> EnrichmentRun:
    kwargs.setdefault("now", datetime.now(UTC))
    return asyncio.run(enrich_keys(key_ids, config, clients=AwsClients(config.aws), **kwargs))  # type: ignore[arg-type]


def one(config: IamConfig, key_id: str, **kwargs: object) -> KeyEnrichment:
    return run(config, key_id, **kwargs).results[key_id]


def test_every_state_of_our_keys_across_accounts(aws: World, iam_config: IamConfig) -> None:
    keys = aws.keys
    result = run(iam_config, *(k.id for k in keys.values()))
    got = {label: result.results[key.id] for label, key in keys.items()}

    alice = got["used_after"]
    assert (alice.ownership, alice.state, alice.principal, alice.user_name) == (
        Ownership.OURS,
        KeyState.ACTIVE,
        "user",
        "alice",
    )
    assert alice.account_id == aws.accounts["prod"] and alice.account_name == "prod"
    assert alice.owner == "alice@example.org" and dict(alice.contacts) == {"owner": "alice@example.org"}
    assert alice.console_access is True and alice.mfa is False
    assert alice.admin is True and any(
        "AdministratorAccess" in why and "admins" in why for why in alice.admin_via
    )
    assert alice.last_used_service == "s3" and alice.last_used_region == "eu-west-1"
    assert alice.created_at is not None and alice.last_used_at is not None
    assert alice.account_source == "decoded from the key id, confirmed by finding the key in the account"

    bob = got["not_used_since"]
    assert (
        bob.owner == "bob@example.org"
    )  # tag key `Email` matches the configured `email`, case-insensitively
    assert bob.mfa is True and bob.admin is True and "*:*" in bob.admin_via[0]
    assert got["inactive"].state is KeyState.INACTIVE
    carol = got["never_used"]
    assert carol.state is KeyState.ACTIVE and carol.last_used_at is None and carol.owner is None
    assert carol.admin is False and carol.console_access is False

    deleted = got["deleted"]
    assert deleted.state is KeyState.DELETED and deleted.ownership is Ownership.OURS
    assert deleted.account_id == aws.accounts["prod"]
    assert deleted.account_source == "decoded from the key id, confirmed by sts:GetAccessKeyInfo"

    assert (
        got["dev_active"].account_id == aws.accounts["dev"] and got["dev_active"].owner == "dave@example.org"
    )
    mgmt = got["management"]  # the caller's own account: its credentials, no role
    assert mgmt.account_id == MANAGEMENT and mgmt.state is KeyState.ACTIVE and mgmt.owner == "ops@example.org"
    assert not [c for c in aws.proxy.actions("AssumeRole") if f"::{MANAGEMENT}:" in c.params["RoleArn"]]

    # One AssumeRole per account, with the external id; calls only for accounts that hold keys.
    assumed = aws.proxy.actions("AssumeRole")
    assert len({c.params["RoleArn"] for c in assumed}) == len(assumed) == 4
    assert all(c.params.get("ExternalId") == "ks-ext-7731" for c in assumed)


def test_timeline_states(aws: World, iam_config: IamConfig) -> None:
    leaked = datetime.now(UTC) - timedelta(days=30)
    keys = aws.keys
    result = run(iam_config, *(keys[k].id for k in ("used_after", "not_used_since", "never_used", "deleted")))
    states = {
        label: timeline(result.results[keys[label].id], leaked, COMMIT).state
        for label in ("used_after", "not_used_since", "never_used", "deleted")
    }
    assert states == {
        "used_after": TimelineState.USED_AFTER_LEAK,
        "not_used_since": TimelineState.NOT_USED_SINCE_LEAK,
        "never_used": TimelineState.NEVER_USED,
        "deleted": TimelineState.UNKNOWN,
    }


def test_account_we_cannot_assume_into_is_unknown_with_the_reason(aws: World, iam_config: IamConfig) -> None:
    result = run(iam_config, aws.keys["locked"].id, aws.keys["used_after"].id)
    locked = result.results[aws.keys["locked"].id]
    assert locked.state is KeyState.UNKNOWN and locked.ownership is Ownership.OURS
    assert "sts:AssumeRole was denied" in (locked.reason or "") and "AccessDenied" in (locked.reason or "")
    assert any("could not be entered" in p for p in result.problems)
    assert any("could not be checked" in p and aws.keys["locked"].id in p for p in result.problems)
    assert result.results[aws.keys["used_after"].id].state is KeyState.ACTIVE  # the rest goes on


def test_role_without_list_access_keys_is_unknown_with_the_reason(aws: World, iam_config: IamConfig) -> None:
    key = one(iam_config, aws.keys["noperm"].id)
    assert key.state is KeyState.UNKNOWN
    assert "iam:ListAccessKeys was denied" in (key.reason or "")
    assert key.user_name == "noperm-user"  # what could be read is still shown


def test_missing_account_wide_permissions_are_gaps_not_silence(aws: World, iam_config: IamConfig) -> None:
    prod = aws.accounts["prod"]

    def deny(call: Call) -> Answer | None:
        if call.action in ("GetAccountAuthorizationDetails", "GenerateCredentialReport"):
            return iam_error("AccessDenied", f"not authorized to perform: iam:{call.action}", 403)
        return None

    aws.proxy.rules.insert(0, deny)
    result = run(iam_config, aws.keys["used_after"].id)
    alice = result.results[aws.keys["used_after"].id]
    assert alice.state is KeyState.ACTIVE and alice.user_name == "alice"
    assert alice.owner is None and alice.admin is None and alice.console_access is None  # not False: unknown
    assert any("owner tags" in gap and "AccessDenied" in gap for gap in alice.gaps)
    assert any("console access and MFA" in gap for gap in alice.gaps)
    assert any(prod in p and "not known" in p for p in result.problems)


def test_throttling_that_clears_is_retried(aws: World, iam_config: IamConfig) -> None:
    key = aws.keys["throttled"].id
    counter = itertools.count()

    def throttle_twice(call: Call) -> Answer | None:
        if (
            call.action == "GetAccessKeyLastUsed"
            and call.params.get("AccessKeyId") == key
            and next(counter) < 2
        ):
            return iam_error("Throttling", "Rate exceeded")
        return None

    aws.proxy.rules.insert(0, throttle_twice)
    found = one(iam_config, key)
    assert found.state is KeyState.ACTIVE and found.last_used_at is not None
    assert len([c for c in aws.proxy.actions("GetAccessKeyLastUsed") if c.params["AccessKeyId"] == key]) == 3


def test_throttling_that_never_clears_is_unknown_with_the_reason(aws: World, iam_config: IamConfig) -> None:
    key = aws.keys["throttled"].id

    def always(call: Call) -> Answer | None:
        if call.action == "GetAccessKeyLastUsed" and call.params.get("AccessKeyId") == key:
            return iam_error("Throttling", "Rate exceeded")
        return None

    aws.proxy.rules.insert(0, always)
    result = run(iam_config, key, aws.keys["dev_active"].id)
    found = result.results[key]
    assert found.state is KeyState.UNKNOWN
    attempts = len([c for c in aws.proxy.actions("GetAccessKeyLastUsed") if c.params["AccessKeyId"] == key])
    assert "still throttled" in (found.reason or "") and f"{attempts} attempts" in (found.reason or ""), (
        attempts
    )
    assert result.results[aws.keys["dev_active"].id].state is KeyState.ACTIVE
    assert any(key in p for p in result.problems)


def test_foreign_key(aws: World, iam_config: IamConfig) -> None:
    # moto's GetAccessKeyInfo answers the caller's own account for any key it does not hold, so the proxy
    # answers for this key as STS does: with the other company's account.
    other = "210987654329"
    key_id = fake_key_id(other)
    aws.foreign[key_id] = other
    found = one(iam_config, key_id)
    assert (found.ownership, found.state, found.account_id) == (Ownership.FOREIGN, KeyState.FOREIGN, other)
    assert found.account_source == "decoded from the key id, confirmed by sts:GetAccessKeyInfo"
    assert [c.params["AccessKeyId"] for c in aws.proxy.actions("GetAccessKeyInfo")] == [key_id]
    # Nothing was asked of that account: no role assumed, no IAM call.
    assert not aws.proxy.actions("AssumeRole") and not aws.proxy.actions("GetAccessKeyLastUsed")
    assert timeline(found, datetime.now(UTC), COMMIT).state is TimelineState.UNKNOWN


def test_old_format_key_id_is_resolved_by_sts_only(aws: World, iam_config: IamConfig) -> None:
    old = "AKIAJ" + "Q7RT3ZK5MN2WX4P"  # an old-format id: its account is not encoded
    aws.foreign[old] = "210987654329"
    found = one(iam_config, old)
    assert found.decode_note and "older key id format" in found.decode_note
    assert found.account_id == "210987654329" and found.account_source == "sts:GetAccessKeyInfo"


def test_canary_keys_are_never_contacted(aws: World, iam_config: IamConfig) -> None:
    canary = fake_key_id(sorted(THINKST_ACCOUNTS)[0])
    configured = fake_key_id("111111111116")
    config = replace(iam_config, canary_accounts={"111111111116": "our own canaries"})
    result = run(config, canary, configured, aws.keys["dev_active"].id)
    for key_id, vendor in ((canary, "Thinkst"), (configured, "our own canaries")):
        found = result.results[key_id]
        assert found.state is KeyState.CANARY and found.ownership is Ownership.CANARY
        assert vendor in (found.canary or "")
    mentioned = [
        c for c in aws.proxy.calls if c.access_key in (canary, configured) or canary in c.params.values()
    ]
    assert mentioned == []
    assert not any(configured in c.params.values() for c in aws.proxy.calls)


def test_canary_found_only_through_sts_stops_there(aws: World, iam_config: IamConfig) -> None:
    old = "AKIAI" + "Z7RT3QK5MN2WX4P"
    account = sorted(THINKST_ACCOUNTS)[1]
    aws.foreign[old] = account
    found = one(iam_config, old)
    assert found.state is KeyState.CANARY and found.account_id == account
    assert len(aws.proxy.calls) <= 3  # caller identity, organization, GetAccessKeyInfo: nothing after
    assert not aws.proxy.actions("AssumeRole")


def test_organization_listing_failure_makes_unlisted_accounts_unknown(
    aws: World, iam_config: IamConfig
) -> None:
    def deny(call: Call) -> Answer | None:
        if call.action == "ListAccounts":
            body = '{"__type": "AccessDeniedException", "message": "You don\'t have permissions"}'
            return Answer(400, body, "application/x-amz-json-1.1")
        return None

    aws.proxy.rules.insert(0, deny)
    config = replace(iam_config, accounts=(aws.accounts["dev"],))
    result = run(config, aws.keys["used_after"].id, aws.keys["dev_active"].id)
    prod = result.results[aws.keys["used_after"].id]
    assert prod.state is KeyState.UNKNOWN and "organizations:ListAccounts was denied" in (prod.reason or "")
    assert result.results[aws.keys["dev_active"].id].state is KeyState.ACTIVE  # configured: still ours
    assert any("Organization" in p for p in result.problems)


def test_no_credentials_at_all_is_unknown_not_clean(aws: World, iam_config: IamConfig) -> None:
    def refuse(call: Call) -> Answer | None:
        if call.action == "GetCallerIdentity":
            return iam_error(
                "InvalidClientTokenId", "The security token included in the request is invalid.", 403
            )
        return None

    aws.proxy.rules.insert(0, refuse)
    result = run(iam_config, aws.keys["used_after"].id)
    found = result.results[aws.keys["used_after"].id]
    assert found.state is KeyState.UNKNOWN and "own AWS credentials cannot be used" in (found.reason or "")
    assert result.problems


def test_root_key(aws: World, iam_config: IamConfig) -> None:
    dev = aws.accounts["dev"]
    root_key = fake_key_id(dev)
    now = datetime.now(UTC)
    add_root_key(dev, root_key, now - timedelta(days=700), now - timedelta(days=5))
    try:
        found = one(iam_config, root_key)
        assert (found.principal, found.user_name, found.state) == ("root", "root", KeyState.ACTIVE)
        assert found.user_arn == f"arn:aws:iam::{dev}:root" and found.admin is True
        assert found.created_at is not None and found.mfa is True
        assert timeline(found, now - timedelta(days=30), COMMIT).state is TimelineState.USED_AFTER_LEAK
    finally:
        from tests.iam.moto_world import backend

        iam = backend(dev)
        del iam.get_credential_report, iam.get_access_key_last_used


def test_root_key_without_last_used_answer(aws: World, iam_config: IamConfig) -> None:
    """Should IAM not answer GetAccessKeyLastUsed for a root key: a key no user holds, in an account whose
    root user has keys, is never called deleted."""
    dev = aws.accounts["dev"]
    from tests.iam.moto_world import backend

    summary = backend(dev).account_summary
    summary._account_access_keys_present = 1
    key_id = fake_key_id(dev)
    aws.foreign[key_id] = dev  # STS knows the key's account (moto would answer the caller's)
    try:
        found = one(iam_config, key_id)
        assert found.state is KeyState.UNKNOWN and "may be a root key" in (found.reason or "")
    finally:
        summary._account_access_keys_present = 0


def test_cache_reuses_fresh_results_and_asks_again_for_unknown(aws: World, iam_config: IamConfig) -> None:
    now = datetime.now(UTC)
    first = run(iam_config, aws.keys["used_after"].id, aws.keys["locked"].id, now=now)
    aws.proxy.calls.clear()
    again = run(iam_config, aws.keys["used_after"].id, now=now + timedelta(hours=1), cache=first.results)
    assert again.cached == 1 and again.calls == 0 and aws.proxy.calls == []
    assert again.results[aws.keys["used_after"].id] == first.results[aws.keys["used_after"].id]
    # `unknown` is not reused; a stale entry is not reused either.
    retry = run(iam_config, aws.keys["locked"].id, now=now + timedelta(hours=1), cache=first.results)
    assert retry.cached == 0 and aws.proxy.actions("AssumeRole")
    stale = run(
        iam_config, aws.keys["used_after"].id, now=now + timedelta(seconds=iam_config.cache_ttl_seconds + 1),
        cache=first.results,
    )  # fmt: skip
    assert stale.cached == 0 and stale.calls > 0
