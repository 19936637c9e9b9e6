"""`keysweep hygiene` as a user runs it (a subprocess), against the seeded Organization in moto: check,
report (every format, per owner, --email --dry-run), the findings database join (leaked key still
active), remediate (dry-run, then --apply, both recorded), schedule --once; exit codes."""

from __future__ import annotations

import csv
import email
import io
import json
import sqlite3
from email.policy import default
from pathlib import Path

import pytest

from tests.conftest import Keysweep
from tests.hygiene.hygiene_world import MANAGEMENT, HygieneWorld
from tests.iam.moto_world import EXTERNAL_ID, ROLE, backend


@pytest.fixture
def config(tmp_path: Path, haws: HygieneWorld) -> Path:
    path = tmp_path / "keysweep.toml"
    path.write_text(
        f'[iam]\nrole_name = "{ROLE}"\nexternal_id = "{EXTERNAL_ID}"\nendpoint_url = "{haws.url}"\n'
        'retry_mode = "standard"\nmax_attempts = 2\n'
    )
    return path


def test_check_json_over_one_account(
    keysweep: Keysweep, config: Path, haws: HygieneWorld, tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    run = keysweep(
        "hygiene", "check", "--config", config, "--account", haws.accounts["prod"], "-f", "json", "-o", out
    )
    assert run.code == 3, run.stderr  # FAIL results, and an ERROR: no findings database yet
    document = json.loads(out.read_text())
    results = document["results"]
    assert {r["status"] for r in results} == {"PASS", "FAIL", "ERROR"}
    (error,) = [r for r in results if r["status"] == "ERROR"]
    assert error["check_id"] == "leaked_key_active" and "no findings database" in error["message"]
    for r in results:
        assert r["check_id"] and r["resource"] and r["message"] and r["severity"]
    rotation = next(r for r in results if r["check_id"] == "key_rotation" and r["status"] == "FAIL")
    assert rotation["cis"] == "CIS AWS Foundations 1.14" and rotation["security_hub"] == "IAM.3"
    assert document["recommendations"]


def test_check_over_the_organization_exits_3_for_the_locked_account(
    keysweep: Keysweep, config: Path, haws: HygieneWorld
) -> None:
    run = keysweep("hygiene", "check", "--config", config, "-f", "csv", "--db", "/nonexistent/x.db")
    assert run.code == 3
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    locked = [r for r in rows if r["account_id"] == haws.accounts["locked"]]
    assert len(locked) == 13 and {r["status"] for r in locked} == {"ERROR"}
    assert "sts:AssumeRole was denied" in locked[0]["message"]
    assert {r["account_id"] for r in rows} >= {MANAGEMENT, haws.accounts["prod"]}


def test_leaked_key_still_active_from_the_findings_database(
    keysweep: Keysweep, config: Path, haws: HygieneWorld, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "deploy.yml").write_text(
        f"env:\n  AWS_ACCESS_KEY_ID: {haws.keys['leaked']}\n"
    )
    scan = keysweep("scan", repo, "-f", "json")
    assert scan.code == 1, scan.stderr
    run = keysweep("hygiene", "check", "--config", config, "--account", haws.accounts["prod"], "-f", "json")
    assert run.code == 1, run.stderr  # FAILs, no ERROR: the database was read
    results = json.loads(run.stdout)
    leaked = [r for r in results["results"] if r["check_id"] == "leaked_key_active" and r["status"] == "FAIL"]
    assert [r["key_id"] for r in leaked] == [haws.keys["leaked"]]
    assert leaked[0]["severity"] == "critical" and results["results"][0] == leaked[0]  # most severe first
    assert ".github/workflows/deploy.yml" in leaked[0]["message"]
    (advice,) = [r for r in results["recommendations"] if r["key_id"] == haws.keys["leaked"]]
    assert advice["kind"] == "oidc"
    assert any(f"--access-key-id {haws.keys['leaked']} --status Inactive" in c for c in advice["commands"])
    assert any(f"arn:aws:iam::{haws.accounts['prod']}:oidc-provider" in c for c in advice["commands"])


def test_reports_in_every_format(
    keysweep: Keysweep, config: Path, haws: HygieneWorld, tmp_path: Path
) -> None:
    prod = haws.accounts["prod"]
    html = tmp_path / "report.html"
    run = keysweep(
        "hygiene",
        "report",
        "--config",
        config,
        "--account",
        prod,
        "-o",
        html,
        "--split",
        tmp_path / "owners",
        "--by",
        "owner",
    )
    assert run.code == 3, run.stderr
    page = html.read_text()
    assert "<svg" in page and "<script" not in page and "Owner alice@example.org" in page
    assert haws.keys["old_admin"] in page
    assert (tmp_path / "owners" / "alice@example.org.html").exists()
    markdown = keysweep("hygiene", "report", "--config", config, "--account", prod, "-f", "markdown")
    assert "## Account " + prod in markdown.stdout and "| FAIL | medium | `key_rotation`" in markdown.stdout
    assert "```sh" in markdown.stdout
    text = keysweep("hygiene", "report", "--config", config, "--account", prod, "-f", "text", "--by", "owner")
    assert "== owner dave@example.org" in text.stdout


def test_email_dry_run_writes_one_digest_per_owner(
    keysweep: Keysweep, config: Path, haws: HygieneWorld, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    run = keysweep(
        "hygiene",
        "report",
        "--config",
        config,
        "--account",
        haws.accounts["prod"],
        "--email",
        "--dry-run",
        outbox,
    )
    assert run.code == 3, run.stderr
    names = sorted(p.name for p in outbox.iterdir())
    assert "alice@example.org.eml" in names and "dave@example.org.eml" in names
    assert "security@example.org.eml" in names  # carol (no tag), root, the password policy
    dave = email.message_from_bytes((outbox / "dave@example.org.eml").read_bytes(), policy=default)
    body = dave.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "multiple_active_keys" in body and haws.keys["old_admin"] not in body
    assert "mail written" in run.stderr


def test_remediate_dry_run_then_apply(keysweep: Keysweep, config: Path, haws: HygieneWorld) -> None:
    prod = haws.accounts["prod"]
    iam = haws.account_client(prod, "iam")
    iam.create_user(UserName="victim")
    key = iam.create_access_key(UserName="victim")["AccessKey"]["AccessKeyId"]
    try:
        dry = keysweep("hygiene", "remediate", "--config", config, "--deactivate", key)
        assert dry.code == 0, dry.stderr
        assert "dry run" in dry.stdout and f"--access-key-id {key} --status Inactive" in dry.stdout
        assert backend(prod).access_keys[key].status == "Active"
        done = keysweep("hygiene", "remediate", "--config", config, "--deactivate", key, "--apply")
        assert done.code == 0, done.stderr
        assert backend(prod).access_keys[key].status == "Inactive"
        quarantine = keysweep("hygiene", "remediate", "--config", config, "--quarantine", key, "--apply")
        assert quarantine.code == 0, quarantine.stderr
        attached = iam.list_attached_user_policies(UserName="victim")["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached] == ["AWSDenyAll"]
        with sqlite3.connect(keysweep.db) as conn:
            rows = conn.execute(
                "SELECT action, key_id, applied, outcome FROM hygiene_actions ORDER BY id"
            ).fetchall()
        assert rows == [
            ("deactivate", key, 0, "planned"),
            ("deactivate", key, 1, "done"),
            ("quarantine", key, 1, "done"),
        ]
        root = keysweep("hygiene", "remediate", "--config", config, "--deactivate", "AKIAIOSFODNN7EXAMPL")
        assert root.code in (2, 3) and "keysweep: error:" in root.stderr
    finally:
        iam.detach_user_policy(UserName="victim", PolicyArn="arn:aws:iam::aws:policy/AWSDenyAll")
        iam.delete_access_key(UserName="victim", AccessKeyId=key)
        iam.delete_user(UserName="victim")


def test_schedule_once_mails_to_the_dry_run_directory(
    keysweep: Keysweep, config: Path, haws: HygieneWorld, tmp_path: Path
) -> None:
    run = keysweep(
        "hygiene",
        "schedule",
        "--cron",
        "0 8 * * MON",
        "--once",
        "--config",
        config,
        "--account",
        MANAGEMENT,
        "--email",
        "--dry-run",
        tmp_path / "out",
        "--report-dir",
        tmp_path / "reports",
    )
    assert run.code == 0, run.stderr
    assert len(list((tmp_path / "reports").glob("report-*.html"))) == 1
    bad = keysweep("hygiene", "schedule", "--cron", "0 25 * * *", "--config", config)
    assert bad.code == 2 and "hour" in bad.stderr


def test_usage_errors(keysweep: Keysweep, config: Path, tmp_path: Path) -> None:
    settings = tmp_path / "bad.toml"
    settings.write_text("[thresholds]\nkey_rotation_dayz = 1\n")
    run = keysweep("hygiene", "check", "--config", config, "--settings", settings)
    assert run.code == 2 and "key_rotation_dayz" in run.stderr
    assert keysweep("hygiene", "check", "--config", config, "--check", "nope").code == 2
    assert keysweep("hygiene", "remediate", "--config", config).code == 2
