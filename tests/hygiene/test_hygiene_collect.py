"""Collection and checks against the seeded Organization in moto (server mode, loopback): every seeded
defect is found, and every failed read is an ERROR, never a clean-looking account."""

from __future__ import annotations

from datetime import timedelta

from hygiene.config import load_config
from hygiene.inventory import Target, collect
from hygiene.model import Status, Topic
from hygiene.run import evaluate
from scanner.iam.config import IamConfig
from tests.hygiene.hygiene_world import MANAGEMENT, HygieneWorld, deny


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
