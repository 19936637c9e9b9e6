"""The checks as pure functions over hand-made inventories: PASS, FAIL, ERROR and MUTED, thresholds from the
settings file, metadata validated at load, a crashing check reported as ERROR."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hygiene.checks import CheckError, load_checks, parse_meta, run_checks
from hygiene.config import HygieneConfigError, load_config
from hygiene.inventory import moment
from hygiene.model import (
    AccessKey,
    AccountInventory,
    CheckResult,
    Gap,
    Inventory,
    Leak,
    MfaDevice,
    PasswordPolicy,
    Root,
    RootKeySlot,
    Status,
    Topic,
    User,
    frozen_map,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "111122223333"


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def key(
    key_id: str, user: str, created: int, used: int | None, active: bool = True, service: str = "s3"
) -> AccessKey:
    return AccessKey(
        key_id,
        user,
        "Active" if active else "Inactive",
        ago(created),
        ago(used) if used is not None else None,
        service if used is not None else None,
    )


def user(
    name: str,
    *keys: AccessKey,
    console: bool = False,
    mfa: bool = False,
    admin: bool = False,
    password_used: int | None = None,
    created: int = 400,
    tags: dict[str, str] | None = None,
) -> User:
    return User(
        name,
        f"arn:aws:iam::{ACCOUNT}:user/{name}",
        ago(created),
        frozen_map(tags or {}),
        (),
        ("AdministratorAccess (attached to the user)",) if admin else (),
        console,
        ago(password_used) if password_used is not None else None,
        (MfaDevice("arn:mfa", True),) if mfa else (),
        tuple(keys),
    )


def account(
    *users: User, root: Root | None = None, policy: PasswordPolicy | None = None, gaps: tuple[Gap, ...] = ()
) -> AccountInventory:
    return AccountInventory(
        ACCOUNT,
        "prod",
        tuple(users),
        root or Root(f"arn:aws:iam::{ACCOUNT}:root", 0, True, True, (), None, None),
        policy or PasswordPolicy(16, True, True, True, True, 60, 24),
        gaps,
    )


def results(inv: Inventory, check_id: str, **thresholds: int) -> dict[str, Status]:
    config = load_config()
    if thresholds:
        config = replace(config, thresholds={**config.thresholds, **thresholds})
    checks = [c for c in load_checks() if c.meta.id == check_id]
    return {r.resource: r.status for r in run_checks(inv, config, NOW, checks)}


def inventory(*accounts: AccountInventory, leaks: dict[str, Leak] | None = None) -> Inventory:
    return Inventory(NOW, accounts).with_leaks(leaks or {})


def test_every_check_loads_with_valid_metadata() -> None:
    checks = load_checks()
    assert len(checks) == 13
    assert checks[0].meta.id == "leaked_key_active" and checks[0].meta.severity.value == "critical"
    for check in checks:
        assert check.meta.title and check.meta.risk and check.meta.remediation
    assert {c.meta.id: c.meta.security_hub for c in checks}["root_access_keys"] == "IAM.4"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('id = "x"', "missing"),
        (
            'id="x"\ntitle="t"\nseverity="severe"\ncis=""\nsecurity_hub=""\nrisk="r"\nremediation="m"\n'
            'resource_kind="key"',
            "severity",
        ),
        (
            'id="x"\ntitle="t"\nseverity="low"\ncis=""\nsecurity_hub=""\nrisk="r"\nremediation="m"\n'
            'resource_kind="key"\nthresholds=["nope"]',
            "nope",
        ),
        (
            'id="x"\ntitle="t"\nseverity="low"\ncis=""\nsecurity_hub=""\nrisk="r"\nremediation="m"\n'
            'resource_kind="key"\nextra=1',
            "unknown",
        ),
    ],
)
def test_bad_metadata_is_refused_at_load(text: str, problem: str) -> None:
    with pytest.raises(CheckError, match=problem):
        parse_meta(text, "x.toml", ["key_rotation_days"])


def test_key_rotation_reads_its_threshold() -> None:
    inv = inventory(account(user("a", key("AKIAOLD", "a", 100, 1), key("AKIANEW", "a", 30, 1, active=True))))
    assert results(inv, "key_rotation") == {"AKIAOLD": Status.FAIL, "AKIANEW": Status.PASS}
    assert results(inv, "key_rotation", key_rotation_days=120)["AKIAOLD"] is Status.PASS


def test_inactive_keys_are_not_judged_for_age() -> None:
    inv = inventory(account(user("a", key("AKIAOFF", "a", 900, None, active=False))))
    assert results(inv, "key_rotation") == {}


def test_never_used_key_fails_where_prowler_passes() -> None:
    inv = inventory(account(user("a", key("AKIANEVER", "a", 30, None), key("AKIABABY", "a", 2, None))))
    assert results(inv, "key_never_used") == {"AKIANEVER": Status.FAIL, "AKIABABY": Status.PASS}
    # the unused-key check (last use older than 45 days) passes both, as Prowler's does
    assert set(results(inv, "key_unused").values()) == {Status.PASS}


def test_unused_key() -> None:
    inv = inventory(account(user("a", key("AKIAIDLE", "a", 60, 50), key("AKIABUSY", "a", 60, 1))))
    assert results(inv, "key_unused") == {"AKIAIDLE": Status.FAIL, "AKIABUSY": Status.PASS}


def test_a_failed_last_used_read_is_an_error_for_that_key() -> None:
    gap = Gap(Topic.KEY_LAST_USED, "iam:GetAccessKeyLastUsed was denied", "AKIAIDLE")
    inv = inventory(account(user("a", key("AKIAIDLE", "a", 60, None)), gaps=(gap,)))
    assert results(inv, "key_unused") == {"AKIAIDLE": Status.ERROR}
    assert results(inv, "key_never_used") == {"AKIAIDLE": Status.ERROR}


def test_multiple_active_keys_points_at_the_oldest() -> None:
    inv = inventory(account(user("d", key("AKIAB", "d", 5, 1), key("AKIAA", "d", 10, 1))))
    config = load_config()
    found = run_checks(inv, config, NOW, [c for c in load_checks() if c.meta.id == "multiple_active_keys"])
    assert [(r.status, r.key_id) for r in found] == [(Status.FAIL, "AKIAA")]


def test_console_mfa_and_unused_console() -> None:
    inv = inventory(
        account(
            user("nomfa", console=True, password_used=1),
            user("mfa", console=True, mfa=True, password_used=100),
            user("never", console=True, created=100),
            user("api"),
        )
    )
    arn = f"arn:aws:iam::{ACCOUNT}:user/"
    assert results(inv, "console_mfa") == {
        arn + "nomfa": Status.FAIL,
        arn + "mfa": Status.PASS,
        arn + "never": Status.FAIL,
    }
    assert results(inv, "console_unused") == {
        arn + "nomfa": Status.PASS,
        arn + "mfa": Status.FAIL,
        arn + "never": Status.FAIL,
    }


def test_root_checks() -> None:
    root = Root(
        f"arn:aws:iam::{ACCOUNT}:root",
        1,
        True,
        False,
        (RootKeySlot(1, True, ago(500), ago(2), "ec2"),),
        None,
        ago(2),
    )
    inv = inventory(account(root=root))
    arn = f"arn:aws:iam::{ACCOUNT}:root"
    assert results(inv, "root_access_keys") == {arn: Status.FAIL}
    assert results(inv, "root_mfa") == {arn: Status.PASS}
    assert results(inv, "root_hardware_mfa") == {arn: Status.FAIL}  # virtual MFA only
    assert results(inv, "root_recent_use") == {arn: Status.FAIL}
    assert results(inv, "root_recent_use", root_recent_use_days=1) == {arn: Status.PASS}


def test_missing_summary_and_report_is_an_error_not_a_pass() -> None:
    gaps = (
        Gap(Topic.SUMMARY, "iam:GetAccountSummary was denied"),
        Gap(Topic.CREDENTIAL_REPORT, "iam:GenerateCredentialReport was denied"),
    )
    inv = inventory(account(root=Root(f"arn:aws:iam::{ACCOUNT}:root"), gaps=gaps))
    for check_id in ("root_access_keys", "root_mfa", "root_hardware_mfa", "root_recent_use"):
        assert set(results(inv, check_id).values()) == {Status.ERROR}, check_id


def test_unreachable_account_is_an_error_in_every_check() -> None:
    inv = inventory(AccountInventory(ACCOUNT, gaps=(Gap(Topic.ACCOUNT, "sts:AssumeRole was denied"),)))
    found = run_checks(inv, load_config(), NOW)
    assert {r.check_id for r in found} == {c.meta.id for c in load_checks()}
    assert {r.status for r in found} == {Status.ERROR}
    assert all("sts:AssumeRole was denied" in r.message for r in found)


def test_admin_keys() -> None:
    inv = inventory(
        account(
            user("root-ish", key("AKIAADM", "root-ish", 1, 1), admin=True),
            user("plain", key("AKIAPLN", "plain", 1, 1)),
        )
    )
    assert results(inv, "admin_keys") == {"AKIAADM": Status.FAIL, "AKIAPLN": Status.PASS}


def test_password_policy() -> None:
    resource = f"arn:aws:iam::{ACCOUNT}:account-password-policy"
    assert results(inventory(account()), "password_policy") == {resource: Status.PASS}
    weak = account(policy=PasswordPolicy(8))
    assert results(inventory(weak), "password_policy") == {resource: Status.FAIL}
    none = replace(account(), password_policy=None)
    assert results(inventory(none), "password_policy") == {resource: Status.FAIL}
    denied = replace(none, gaps=(Gap(Topic.PASSWORD_POLICY, "denied"),))
    assert results(inventory(denied), "password_policy") == {resource: Status.ERROR}


def test_leaked_key_active_is_critical() -> None:
    leak = Leak("AKIALEAK", "f" * 64, ago(3), "open", (".github/workflows/deploy.yml",))
    inv = inventory(
        account(user("f", key("AKIALEAK", "f", 20, 1), key("AKIAOFF", "f", 20, 1, active=False))),
        leaks={"AKIALEAK": leak, "AKIAOFF": replace(leak, key_id="AKIAOFF")},
    )
    found = run_checks(
        inv, load_config(), NOW, [c for c in load_checks() if c.meta.id == "leaked_key_active"]
    )
    by_key = {r.key_id: r for r in found}
    assert by_key["AKIALEAK"].status is Status.FAIL and by_key["AKIALEAK"].severity.value == "critical"
    assert ".github/workflows/deploy.yml" in by_key["AKIALEAK"].message
    assert by_key["AKIAOFF"].status is Status.PASS
    unread = Inventory(NOW, inv.accounts).with_leaks({}, "the findings database cannot be read")
    assert {
        r.status
        for r in run_checks(
            unread, load_config(), NOW, [c for c in load_checks() if c.meta.id == "leaked_key_active"]
        )
    } == {Status.ERROR}


def test_mutes_keep_the_result_with_its_reason(tmp_path: Path) -> None:
    settings = tmp_path / "hygiene.toml"
    settings.write_text(
        '[thresholds]\nkey_rotation_days = 30\n\n[[mute]]\ncheck = "key_rotation"\n'
        'resource = "AKIAOLD"\nreason = "break-glass key"\n'
    )
    config = load_config(settings)
    inv = inventory(account(user("a", key("AKIAOLD", "a", 100, 1), key("AKIAMID", "a", 40, 1))))
    found = run_checks(inv, config, NOW, [c for c in load_checks() if c.meta.id == "key_rotation"])
    by_key = {r.key_id: r for r in found}
    assert by_key["AKIAOLD"].status is Status.MUTED and by_key["AKIAOLD"].mute_reason == "break-glass key"
    assert by_key["AKIAMID"].status is Status.FAIL  # 40 > 30 from the user's settings


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[thresholds]\nkey_rotation_dayz = 3\n", "unknown key"),
        ('[thresholds]\nkey_rotation_days = "ninety"\n', "must be a int"),
        ("[thresholds]\nkey_rotation_days = -1\n", "negative"),
        ('[[mute]]\ncheck = "key_rotation"\nresource = "*"\n', "reason"),
        ('[mail]\ntransport = "pigeon"\n', "transport"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, text: str, problem: str) -> None:
    settings = tmp_path / "bad.toml"
    settings.write_text(text)
    with pytest.raises(HygieneConfigError, match=problem):
        load_config(settings)


def test_a_crashing_check_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    check = next(c for c in load_checks() if c.meta.id == "key_rotation")

    def boom(*_: object) -> list[CheckResult]:
        raise KeyError("oops")

    broken = replace(check, run=boom)
    found = run_checks(inventory(account()), load_config(), NOW, [broken])
    assert [r.status for r in found] == [Status.ERROR] and "crashed" in found[0].message


def test_credential_report_sentinels_are_no_date() -> None:
    for sentinel in ("N/A", "no_information", "not_supported", ""):
        assert moment(sentinel) is None
    assert moment("2026-01-02T03:04:05+00:00") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_thresholds_file_comments_every_threshold_with_its_check() -> None:
    """Each threshold is preceded (through its block of settings) by a comment naming a check reading it."""
    lines = (Path(__file__).resolve().parents[2] / "hygiene" / "thresholds.toml").read_text().splitlines()
    readers: dict[str, set[str]] = {}
    for check in load_checks():
        for name in check.meta.thresholds:
            readers.setdefault(name, set()).add(check.meta.id)
    assert readers
    for name, checks in readers.items():
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{name} ="))
        while not lines[index].startswith("#"):
            index -= 1
        block = []
        while lines[index].startswith("#"):
            block.append(lines[index])
            index -= 1
        assert any(c in " ".join(block) for c in checks), name
