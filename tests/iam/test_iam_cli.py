"""End to end, as a user runs it: `keysweep scan DIR --iam`, `iam enrich`, `keysweep findings --live`.

The real CLI runs in a subprocess against the moto world on loopback (endpoint in `.keysweep.toml` and
AWS_ENDPOINT_URL; fake credentials in the environment). Only the AWS rules are enabled in the scanned
directory's configuration, to keep the rule compilation (cached per test session) short.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.iam.canaries import THINKST_ACCOUNTS
from scanner.rules import load_builtin_rules
from tests.conftest import Keysweep
from tests.iam.moto_world import EXTERNAL_ID, ROLE, World, fake_key_id

pytestmark = pytest.mark.timeout(600)


def write_repo(root: Path, world: World) -> dict[str, str]:
    keys = world.keys
    foreign = fake_key_id("210987654329")
    world.foreign[foreign] = "210987654329"
    canary = fake_key_id(sorted(THINKST_ACCOUNTS)[0])
    (root / "config").mkdir(parents=True)
    (root / "config" / "prod.env").write_text(
        f"AWS_ACCESS_KEY_ID={keys['used_after'].id}\nAWS_SECRET_ACCESS_KEY={keys['used_after'].secret}\n"
    )
    (root / "deploy.sh").write_text(f"export AWS_ACCESS_KEY_ID={keys['never_used'].id}\n")
    (root / "dev.yml").write_text(f"aws_access_key_id: {keys['dev_active'].id}\n")
    (root / "vendor.txt").write_text(f"partner key {foreign}\nhoney {canary}\n")
    (root / "old.txt").write_text(f"key = {keys['deleted'].id}\nlocked = {keys['locked'].id}\n")
    non_aws = sorted(r.id for r in load_builtin_rules() if "aws" not in r.id and "aws" not in r.tags)
    (root / ".keysweep.toml").write_text(
        "[rules]\n"
        f"disable = {json.dumps(non_aws)}\n\n"
        "[iam]\n"
        f'role_name = "{ROLE}"\n'
        f'external_id = "{EXTERNAL_ID}"\n'
        f'endpoint_url = "{world.proxy.url}"\n'
        'retry_mode = "standard"\n'
        "max_attempts = 3\n"
        'owner_tag_keys = ["owner", "email"]\n'
    )
    return {"foreign": foreign, "canary": canary}


def by_key(document: dict[str, object]) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for record in document["findings"]:  # type: ignore[attr-defined]
        if record.get("key_id") and record.get("iam"):
            found[record["key_id"]] = record["iam"]
    return found


def test_scan_iam_enrich_and_filter(aws: World, keysweep: Keysweep, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    extra = write_repo(repo, aws)
    keys = aws.keys

    done = keysweep("scan", repo, "--iam", "-f", "json", "--quiet")
    assert done.code == 1, done.stderr
    document = json.loads(done.stdout)
    iam = by_key(document)
    alice = iam[keys["used_after"].id]
    assert alice["state"] == "active" and alice["user"] == "alice" and alice["owner"] == "alice@example.org"
    assert alice["account_id"] == aws.accounts["prod"] and alice["account_name"] == "prod"
    assert (
        alice["last_used_at"]
        and alice["last_used_service"] == "s3"
        and alice["last_used_region"] == "eu-west-1"
    )
    assert alice["admin"] is True and alice["console_access"] is True
    # First exposure: this scan (no git history here), after the key's last use two days ago.
    assert alice["timeline"]["state"] == "leaked-not-used-since"  # type: ignore[index]
    assert alice["timeline"]["exposure_source"] == "scan"  # type: ignore[index]
    assert iam[keys["never_used"].id]["timeline"]["state"] == "never-used"  # type: ignore[index]
    assert iam[keys["deleted"].id]["state"] == "deleted"
    assert iam[keys["dev_active"].id]["owner"] == "dave@example.org"
    assert iam[extra["foreign"]]["ownership"] == "foreign"
    assert iam[extra["canary"]]["state"] == "canary"
    locked = iam[keys["locked"].id]
    assert locked["state"] == "unknown" and "sts:AssumeRole was denied" in locked["reason"]  # type: ignore[operator]
    notes = document["scan"]["notes"]  # type: ignore[index]
    assert any("could not be entered" in note for note in notes)  # says what it could not check
    # The secret is used nowhere but in memory: without --verify no request was signed with a leaked key.
    leaked = {k.id for k in keys.values()}
    assert not [c for c in aws.proxy.calls if c.access_key in leaked]
    assert keys["used_after"].secret not in keysweep.db.read_bytes().decode("latin-1")

    # Every format shows it.
    sarif = json.loads(keysweep("scan", repo, "--iam", "-f", "sarif", "--quiet").stdout)
    results = sarif["runs"][0]["results"]
    alice_result = next(r for r in results if r["properties"].get("key_id") == keys["used_after"].id)
    assert alice_result["properties"]["iam"]["owner"] == "alice@example.org"
    assert "AWS: active key of user alice" in alice_result["message"]["text"]
    text = keysweep("scan", repo, "--iam", "--quiet").stdout
    assert "aws active key of user alice" in text and "contact alice@example.org" in text
    csv_text = keysweep("scan", repo, "--iam", "-f", "csv", "--quiet").stdout
    assert "alice@example.org" in csv_text.splitlines()[0] + csv_text

    # Over what is stored.
    aws.proxy.calls.clear()
    enriched = keysweep("iam", "enrich", "-f", "json", "--config", repo / ".keysweep.toml")
    assert enriched.code == 0, enriched.stderr
    stored = {k["key_id"]: k for k in json.loads(enriched.stdout)["keys"]}
    assert stored[keys["used_after"].id]["user"] == "alice" and len(stored) == 7
    assert json.loads(enriched.stdout)["cached"] >= 5  # fresh results are not asked again
    assert "could not check" in enriched.stderr  # the locked account, again
    table = keysweep("iam", "enrich", "--config", repo / ".keysweep.toml").stdout
    assert "alice@example.org" in table and "never-used" in table
    shown = keysweep("iam", "show", keys["used_after"].id)
    assert shown.code == 0 and "alice@example.org" in shown.stdout and "admin" in shown.stdout

    def listed(*options: str) -> set[str]:
        run = keysweep("findings", "-f", "json", *options)
        assert run.code == 0, run.stderr
        return {f["key_id"] for f in json.loads(run.stdout)["findings"]}

    live = listed("--live")
    assert keys["used_after"].id in live and keys["dev_active"].id in live
    assert keys["deleted"].id not in live and extra["canary"] not in live and keys["locked"].id not in live
    assert listed("--owner", "alice") == {keys["used_after"].id}
    assert listed("--owner", "DAVE@example") == {keys["dev_active"].id}
    assert listed("--account", aws.accounts["dev"]) == {keys["dev_active"].id}
    assert listed("--account", "prod", "--live") == {keys["used_after"].id, keys["never_used"].id}
    findings_text = keysweep("findings", "--owner", "alice").stdout
    assert "alice <alice@example.org>" in findings_text
