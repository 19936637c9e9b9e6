#!/usr/bin/env python3
"""keysweep hygiene vs Prowler's IAM checks on the same seeded account (moto, loopback).

    python3 -m venv /tmp/prowler-venv && /tmp/prowler-venv/bin/pip install prowler
    .venv/bin/python tests/benchmarks/compare_prowler.py [--prowler /tmp/prowler-venv/bin/prowler]

1. Starts moto in server mode on 127.0.0.1 in this process and seeds the caller's account (moto's default,
   123456789012) with the defects of tests/hygiene/hygiene_world.py: an old admin key, an unused key, a
   never-used key, a user with two active keys, a console user without MFA who never signed in, a weak
   password policy, and a root user with an access key, no MFA and recent use (moto's root gaps filled
   through its backend, see `root_row`); ages and last uses are set through moto's backend.
2. Runs `keysweep hygiene check -f json` and Prowler (`prowler aws --service iam`, its own virtualenv,
   AWS_ENDPOINT_URL pointing at the moto server, fake credentials) on that account.
3. Maps Prowler's FAIL findings to keysweep check ids (PROWLER_TO_KEYSWEEP) and the resource (user, root
   or account), and prints: defects both flag, defects only Prowler flags (must be none), defects only
   keysweep flags (e.g. the never-used key), and Prowler's failing checks outside key hygiene (listed,
   not compared: support role, policies' privilege escalation, ...). Exit 1 if Prowler flags a mapped
   defect keysweep misses.

Last run (Prowler 5.46.0 in /tmp/prowler-venv, moto 5.2.5): Prowler runs against moto through
AWS_ENDPOINT_URL (moto answers NotImplemented to a few calls Prowler makes, e.g.
organizations:ListOrganizationsFeatures; Prowler goes on). Both flag 10 defects; Prowler flags none that
keysweep misses; keysweep also flags the never-used key, the unused console password, the root user's
recent use and the admin user's key. Prowler's failing checks outside key hygiene: support and
SecurityAudit roles, SAML providers, admin policies attached to groups or without MFA, users' hardware MFA.

Not part of the test run. If Prowler is not installed, or cannot run against the endpoint, the script
says why and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.hygiene.hygiene_world import MANAGEMENT, HygieneWorld, root_row, start, stop  # noqa: E402
from tests.iam.moto_world import FAKE_ENV, backend, fake_aws_env, set_key_dates  # noqa: E402

PROWLER_TO_KEYSWEEP = {
    "iam_no_root_access_key": "root_access_keys",
    "iam_root_mfa_enabled": "root_mfa",
    "iam_root_hardware_mfa_enabled": "root_hardware_mfa",
    "iam_avoid_root_usage": "root_recent_use",
    "iam_rotate_access_key_90_days": "key_rotation",
    "iam_user_accesskey_unused": "key_unused",
    "iam_user_two_active_access_key": "multiple_active_keys",
    "iam_user_two_active_access_keys": "multiple_active_keys",
    "iam_user_mfa_enabled_console_access": "console_mfa",
    "iam_user_console_access_unused": "console_unused",
    "iam_user_administrator_access_policy": "admin_keys",
    "iam_password_policy_minimum_length_14": "password_policy",
    "iam_password_policy_lowercase": "password_policy",
    "iam_password_policy_uppercase": "password_policy",
    "iam_password_policy_number": "password_policy",
    "iam_password_policy_symbol": "password_policy",
    "iam_password_policy_reuse_24": "password_policy",
    "iam_password_policy_expires_passwords_within_90_days_or_less": "password_policy",
}


def seed(world: HygieneWorld) -> None:
    now = world.now
    iam = world.client("iam")
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    def user(name: str, *, console: bool = False, admin: bool = False, created: int = 300) -> None:
        iam.create_user(UserName=name, Tags=[{"Key": "owner", "Value": f"{name}@example.org"}])
        if console:
            iam.create_login_profile(UserName=name, Password="Xy9!long-enough-pass")
        if admin:
            iam.add_user_to_group(GroupName="admins", UserName=name)
        backend(MANAGEMENT).users[name].create_date = now - timedelta(days=created)

    def key(name: str, created: int, used: int | None, service: str = "s3") -> None:
        made = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        set_key_dates(
            MANAGEMENT,
            made,
            now - timedelta(days=created),
            now - timedelta(days=used) if used is not None else None,
            service,
        )
        world.keys[name + str(len(world.keys))] = made

    user("alice", admin=True)
    key("alice", 400, 2, "ec2")
    user("bob")
    key("bob", 200, 100)
    user("carol", created=60)
    key("carol", 30, None)
    user("dave")
    key("dave", 10, 1)
    key("dave", 5, 1)
    user("erin", console=True, created=100)
    iam.update_account_password_policy(MinimumPasswordLength=8)
    root_row(
        MANAGEMENT,
        key_id="AKIA" + "ROOTKEYMGMT00001",
        key_created=now - timedelta(days=800),
        key_used=now - timedelta(days=3),
        password_used=now - timedelta(days=5),
    )


def subject(resource: str) -> str:
    """user name, "root" or "account" from an ARN / key id / Prowler resource."""
    if resource.endswith(":root") or "<root_account>" in resource:
        return "root"
    if ":user/" in resource:
        return resource.rpartition("/")[2]
    return "account"


def keysweep(world: HygieneWorld, workdir: Path) -> set[tuple[str, str]]:
    config = workdir / "keysweep.toml"
    config.write_text(f'[iam]\nrole_name = ""\norganization = false\nendpoint_url = "{world.url}"\n')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scanner",
            "hygiene",
            "check",
            "--config",
            str(config),
            "--account",
            MANAGEMENT,
            "-f",
            "json",
            "--db",
            str(workdir / "none.db"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=ROOT,
        timeout=300,
    )
    results = json.loads(done.stdout)["results"]
    return {(r["check_id"], r["user"] or subject(r["resource"])) for r in results if r["status"] == "FAIL"}


def prowler_findings(output: Path) -> Iterator[dict[str, Any]]:
    for path in output.rglob("*.ocsf.json"):
        yield from json.loads(path.read_text() or "[]")


def prowler(world: HygieneWorld, binary: str, workdir: Path) -> tuple[set[tuple[str, str]], set[str]]:
    out = workdir / "prowler"
    env = {**os.environ, **FAKE_ENV, "AWS_ENDPOINT_URL": world.url}
    done = subprocess.run(
        [
            binary,
            "aws",
            "--service",
            "iam",
            "--region",
            "us-east-1",
            "--output-formats",
            "json-ocsf",
            "--output-directory",
            str(out),
            "--no-banner",
            "--ignore-exit-code-3",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    findings = list(prowler_findings(out))
    if not findings:
        raise SystemExit(
            f"Prowler produced no findings (exit {done.returncode}).\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    mapped: set[tuple[str, str]] = set()
    other: set[str] = set()
    for finding in findings:
        if finding.get("status_code") != "FAIL":
            continue
        check = str(
            finding.get("metadata", {}).get("event_code") or finding.get("finding_info", {}).get("uid")
        )
        resources = [r.get("uid", "") for r in finding.get("resources", [])] or [""]
        ours = PROWLER_TO_KEYSWEEP.get(check)
        if ours is None:
            other.add(check)
            continue
        for resource in resources:
            if ours.startswith("root_"):
                mapped.add((ours, "root"))
            else:
                mapped.add((ours, subject(resource) if ours != "password_policy" else "account"))
    return mapped, other


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prowler", default="/tmp/prowler-venv/bin/prowler")
    args = parser.parse_args()
    if not Path(args.prowler).exists():
        raise SystemExit(f"Prowler is not installed at {args.prowler} (see the docstring): nothing compared.")
    world = start()
    try:
        with fake_aws_env(world.url), tempfile.TemporaryDirectory() as tmp:
            seed(world)
            ours = keysweep(world, Path(tmp))
            theirs, other = prowler(world, args.prowler, Path(tmp))
    finally:
        stop(world)
    both, missed, extra = theirs & ours, theirs - ours, ours - theirs
    print(f"both flag ({len(both)}):", *sorted(both), sep="\n  ")
    print(f"only Prowler flags ({len(missed)}):", *sorted(missed), sep="\n  ")
    print(f"only keysweep flags ({len(extra)}):", *sorted(extra), sep="\n  ")
    print(f"Prowler IAM checks failing outside key hygiene (not compared): {', '.join(sorted(other))}")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
