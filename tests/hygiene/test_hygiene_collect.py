"""Collection and checks against the seeded Organization in moto (server mode, loopback): every seeded
defect is found, every failed read is an ERROR, never a clean-looking account, and the calls made are
the account-wide reads plus one ListAccessKeys per user (no per-user tag, policy, group, MFA or login-profile
call)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from hygiene import inventory
from hygiene.config import load_config
from hygiene.inventory import Target, collect
from hygiene.model import Status, Topic
from hygiene.run import evaluate
from scanner.iam.config import IamConfig
from tests.hygiene.hygiene_world import MANAGEMENT, HygieneWorld, deny
from tests.iam.moto_world import Answer, Call, Rule, iam_error


def fails(world: HygieneWorld, results: list) -> set[tuple[str, str]]:
    """(check, label) of every FAIL, with key ids and ARNs turned back into the seed's labels."""
    names = {v: k for k, v in world.keys.items()}
    out = set()
    for r in results:
        if r.status is Status.FAIL:
            out.add((r.check_id, names.get(r.resource, r.resource.rpartition(":")[2])))
    return out


def test_inventory_reads_users_keys_root_and_policies(haws: HygieneWorld, hiam: IamConfig) -> None:
    inventory = collect(hiam, haws.now, Target((haws.accounts["prod"],)))
    (prod,) = inventory.accounts
    assert prod.gaps == ()
    users = {u.name: u for u in prod.users}
    alice = users["alice"]
    assert alice.console is True and alice.mfa_devices and alice.mfa_devices[0].virtual
    assert alice.tags["owner"] == "alice@example.org"
    assert alice.admin_via and "AdministratorAccess" in alice.admin_via[0]
    (old,) = alice.keys or ()
    assert old.id == haws.keys["old_admin"] and old.last_used_service == "ec2"
    assert abs((haws.now - timedelta(days=400)) - old.created_at).total_seconds() < 5  # type: ignore[operator]
    assert users["carol"].keys and users["carol"].keys[0].last_used_at is None
    assert users["erin"].console is True and users["erin"].mfa is False and users["erin"].mfa_devices == ()
    assert prod.root is not None and prod.root.keys_present == 1 and prod.root.mfa_enabled is False
    assert prod.root.key_slots and prod.root.key_slots[0].active
    assert prod.password_policy is not None and prod.password_policy.minimum_length == 8


def test_every_seeded_defect_is_flagged(haws: HygieneWorld, hiam: IamConfig) -> None:
    inventory = collect(hiam, haws.now, Target((haws.accounts["prod"], MANAGEMENT)))
    run = evaluate(inventory.with_leaks({}), load_config(), haws.now)
    assert fails(haws, list(run.results)) == {
        ("root_access_keys", "root"),
        ("root_mfa", "root"),
        ("root_hardware_mfa", "root"),
        ("root_recent_use", "root"),
        ("key_rotation", "root"),  # the root key is 800 days old (Prowler's rotation check counts it too)
        ("admin_keys", "old_admin"),
        ("key_rotation", "old_admin"),
        ("key_rotation", "unused"),
        ("key_unused", "unused"),
        ("key_never_used", "never_used"),
        ("multiple_active_keys", "user/dave"),
        ("console_mfa", "user/erin"),
        ("console_unused", "user/erin"),
        ("password_policy", "account-password-policy"),
    }
    # the management account is clean, and says so check by check
    management = [r for r in run.results if r.account_id == MANAGEMENT]
    assert management and {r.status for r in management} == {Status.PASS}
    # owners: tags (any case of the key), else the fallback contact
    owners = {r.user: r.owner for r in run.results if r.user}
    assert owners["alice"] == "alice@example.org" and owners["bob"] == "bob@example.org"
    assert owners["carol"] == "security@example.org"
    kinds = {r.user: r.kind for r in run.report.recommendations}
    assert kinds["alice"] == "instance-profile" and kinds["bob"] == "execution-role"


def test_an_account_we_cannot_enter_is_an_error_in_every_check(haws: HygieneWorld, hiam: IamConfig) -> None:
    inventory = collect(hiam, haws.now)
    assert {a.id for a in inventory.accounts} == set(haws.accounts.values())
    locked = next(a for a in inventory.accounts if a.id == haws.accounts["locked"])
    assert locked.unreachable is not None and "sts:AssumeRole was denied" in locked.unreachable.reason
    run = evaluate(inventory.with_leaks({}), load_config(), haws.now)
    mine = [r for r in run.results if r.account_id == locked.id]
    assert len(mine) == 13 and {r.status for r in mine} == {Status.ERROR}
    assert run.report.errored


def test_a_denied_credential_report_is_an_error(haws: HygieneWorld, hiam: IamConfig) -> None:
    haws.proxy.add(deny("GenerateCredentialReport"))
    inventory = collect(hiam, haws.now, Target((haws.accounts["prod"],)))
    (prod,) = inventory.accounts
    assert prod.gap(Topic.CREDENTIAL_REPORT) is not None
    run = evaluate(inventory.with_leaks({}), load_config(), haws.now)
    status = {r.check_id: r.status for r in run.results if r.check_id in ("console_mfa", "root_recent_use")}
    assert status == {"console_mfa": Status.ERROR, "root_recent_use": Status.ERROR}
    error = next(r for r in run.results if r.check_id == "console_mfa")
    assert "iam:GenerateCredentialReport was denied" in error.message
    # what did not need the report is still checked
    assert ("key_rotation", "old_admin") in fails(haws, list(run.results))


def test_a_denied_account_summary_is_an_error_for_root(haws: HygieneWorld, hiam: IamConfig) -> None:
    haws.proxy.add(deny("GetAccountSummary"))
    inventory = collect(hiam, haws.now, Target((haws.accounts["prod"],)))
    (prod,) = inventory.accounts
    gap = prod.gap(Topic.SUMMARY)
    assert gap is not None and "iam:GetAccountSummary was denied" in gap.reason
    assert prod.root is not None and prod.root.keys_present is None and prod.root.hardware_mfa is None
    run = evaluate(inventory.with_leaks({}), load_config(), haws.now)
    # root keys and MFA fall back to the credential report; the rest is still checked
    assert prod.root.key_slots is not None and prod.root.mfa_enabled is not None
    assert ("key_rotation", "old_admin") in fails(haws, list(run.results))


def test_denied_reads_of_keys_and_password_policy(haws: HygieneWorld, hiam: IamConfig) -> None:
    haws.proxy.add(deny("GetAccountPasswordPolicy"))
    haws.proxy.add(deny("GetAccessKeyLastUsed"))
    inventory = collect(hiam, haws.now, Target((haws.accounts["prod"],)))
    run = evaluate(inventory.with_leaks({}), load_config(), haws.now)
    by = {(r.check_id, r.key_id or r.resource): r.status for r in run.results}
    assert (
        by[("password_policy", f"arn:aws:iam::{haws.accounts['prod']}:account-password-policy")]
        is Status.ERROR
    )
    assert by[("key_unused", haws.keys["unused"])] is Status.ERROR
    # a key the credential report says was never used needs no GetAccessKeyLastUsed (moto's report has no
    # last-used services, so a used key always asks the API: denied here, hence ERROR above)
    assert by[("key_never_used", haws.keys["never_used"])] is Status.FAIL
    assert by[("key_rotation", haws.keys["unused"])] is Status.FAIL  # needs no last use


def paged_users(account: str, size: int, fail_after: int | None = None) -> Rule:
    """A proxy rule answering ListUsers `size` users a page (moto answers all in one), from moto's backend;
    with `fail_after`, pages after that many answer a server error."""
    from tests.iam.moto_world import backend

    def stamp(moment: datetime | None) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""

    def rule(call: Call) -> Answer | None:
        if call.action != "ListUsers":
            return None
        start = int(call.params.get("Marker") or 0)
        if fail_after is not None and start >= size * fail_after:
            return iam_error("ServiceFailure", "internal error", 500, "Receiver")
        users = list(backend(account).users.values())
        page = users[start : start + size]
        members = "".join(
            f"<member><Path>{u.path}</Path><UserName>{u.name}</UserName><UserId>{u.id}</UserId>"
            f"<Arn>{u.arn}</Arn><CreateDate>{stamp(u.create_date)}</CreateDate>"
            + (
                f"<PasswordLastUsed>{stamp(u.password_last_used)}</PasswordLastUsed>"
                if u.password_last_used
                else ""
            )
            + "</member>"
            for u in page
        )
        more = start + size < len(users)
        marker = f"<Marker>{start + size}</Marker>" if more else ""
        body = (
            '<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult>'
            f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>{marker}<Users>{members}</Users>"
            "</ListUsersResult><ResponseMetadata><RequestId>keysweep-test</RequestId></ResponseMetadata>"
            "</ListUsersResponse>"
        )
        return Answer(200, body)

    return rule


PER_USER_READS_WE_DO_NOT_MAKE = {
    "ListUserTags",  # tags: GetAccountAuthorizationDetails
    "ListGroupsForUser",  # groups: same
    "ListUserPolicies",  # inline policies: same
    "GetUserPolicy",
    "ListAttachedUserPolicies",  # attached policies: same
    "GetLoginProfile",  # console password: the credential report's password_enabled
    "ListMFADevices",  # MFA: the report's mfa_active, with ListVirtualMFADevices for the kind
    "GetUser",
}


def test_collection_makes_account_wide_reads_and_one_key_listing_per_user(
    haws: HygieneWorld, hiam: IamConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory, "USERS_PAGE", 2)
    haws.proxy.add(paged_users(haws.accounts["prod"], 2))  # 6 users: 3 pages, each starting its listings
    collected = collect(hiam, haws.now, Target((haws.accounts["prod"],)))
    (prod,) = collected.accounts
    assert prod.gaps == ()
    iam = Counter(c.action for c in haws.proxy.calls if c.service == "iam")
    users = {u.name for u in prod.users}
    assert users == {"alice", "bob", "carol", "dave", "erin", "frank"}
    assert iam["ListUsers"] == 3 and all(c.params["MaxItems"] == "2" for c in haws.proxy.actions("ListUsers"))
    listed = [c.params.get("UserName") for c in haws.proxy.actions("ListAccessKeys")]
    assert sorted(listed) == sorted(users)  # once per user, never without a user name
    # the report answers a never-used key; moto's report has no last-used service, so each used key asks
    used = [k for k in prod.access_keys() if k.last_used_at is not None]
    assert {c.params["AccessKeyId"] for c in haws.proxy.actions("GetAccessKeyLastUsed")} == {
        k.id for k in used
    }
    assert iam["GetAccountAuthorizationDetails"] == 3  # users, groups, local policies: one page each here
    assert iam["GenerateCredentialReport"] == 1 and iam["GetCredentialReport"] == 1
    assert iam["ListVirtualMFADevices"] == 1 and iam["GetAccountPasswordPolicy"] == 1
    assert iam["GetAccountSummary"] == 1  # the inspector's, shared with the inventory
    assert not PER_USER_READS_WE_DO_NOT_MAKE & set(iam)
    # what the account-wide reads carry is on each user
    users_by_name = {u.name: u for u in prod.users}
    assert users_by_name["bob"].tags["Email"] == "bob@example.org"
    assert users_by_name["alice"].groups == ("admins",)
    assert users_by_name["erin"].keys == () and users_by_name["erin"].console is True
    dave = users_by_name["dave"]
    assert dave.keys is not None
    assert {k.id for k in dave.keys} == {haws.keys["doubled_1"], haws.keys["doubled_2"]}
    assert all(k.active and k.last_used_service == "s3" for k in dave.keys)


def test_one_users_failed_key_listing_is_an_error_for_that_user_only(
    haws: HygieneWorld, hiam: IamConfig
) -> None:
    def refuse_dave(call: Call) -> Answer | None:
        if call.action == "ListAccessKeys" and call.params.get("UserName") == "dave":
            return iam_error("AccessDenied", "not authorized to perform: iam:ListAccessKeys", 403)
        return None

    haws.proxy.add(refuse_dave)
    collected = collect(hiam, haws.now, Target((haws.accounts["prod"],)))
    (prod,) = collected.accounts
    assert [(g.topic, g.subject) for g in prod.gaps] == [(Topic.ACCESS_KEYS, "dave")]
    assert next(u for u in prod.users if u.name == "dave").keys is None
    run = evaluate(collected.with_leaks({}), load_config(), haws.now)
    dave = {r.check_id: r.status for r in run.results if r.user == "dave"}
    assert dave["multiple_active_keys"] is Status.ERROR and dave["key_rotation"] is Status.ERROR
    assert ("key_rotation", "old_admin") in fails(haws, list(run.results))


def test_a_failed_users_page_is_an_error_even_after_listings_started(
    haws: HygieneWorld, hiam: IamConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory, "USERS_PAGE", 2)
    haws.proxy.add(paged_users(haws.accounts["prod"], 2, fail_after=1))  # the first page's listings start
    collected = collect(hiam, haws.now, Target((haws.accounts["prod"],)))
    (prod,) = collected.accounts
    assert prod.users == () and prod.gap(Topic.USERS) is not None
    assert "iam:ListUsers" in prod.gap(Topic.USERS).reason  # type: ignore[union-attr]
    run = evaluate(collected.with_leaks({}), load_config(), haws.now)
    by_check = {r.check_id: r.status for r in run.results if r.check_id in ("key_rotation", "console_mfa")}
    assert by_check == {"key_rotation": Status.ERROR, "console_mfa": Status.ERROR}
