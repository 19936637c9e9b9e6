"""`keysweep findings` and `keysweep triage` as a user runs them, against a real database file."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from scanner.cli import cli
from scanner.model import Finding, Location, Severity, SourceKind, TriageStatus, fingerprint_of, redact
from scanner.result import ScanResult
from scanner.store import Store
from tests.conftest import Keysweep

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# Made up for these tests.
TOKEN = "ghp_" + "Mn3Bv7Cx1Zl5Kj9Hg2Fd6Sa0Po4Iu8Yt3Re7W"
KEY_ID = "AKIAQ3W5E7R9T2Y4U6IO"
AWS_SECRET = "Zx9/Cv8Bn7Mq6Lw5Ke4Jr3Ht2Gy1Fu0Di9Sp8O+"
PASSWORD = "Tr0ub4dor-and-3-more-words-x81"


def finding(
    secret: str,
    path: str,
    rule_id: str,
    severity: Severity,
    *,
    key_id: str | None = None,
    source: SourceKind = SourceKind.FILE,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        rule_name=rule_id.replace("-", " "),
        severity=severity,
        location=Location(source, "/repo", path),
        line=4,
        column=1,
        secret=secret,
        fingerprint=fingerprint_of("aws-access-key" if key_id else rule_id, key_id or secret),
        preview=redact(secret),
        key_id=key_id,
        secret_found=True if key_id else None,
    )


TOKENS = tuple(finding(TOKEN, f"svc{i}/settings.py", "github-pat", Severity.HIGH) for i in range(3))
AWS = finding(AWS_SECRET, "deploy/prod.env", "aws-access-key-id", Severity.CRITICAL, key_id=KEY_ID)
PASS = finding(PASSWORD, "deploy/db.ini", "generic-password", Severity.MEDIUM, source=SourceKind.GIT)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "keysweep.db"
    with Store.open(path) as store:
        store.record_scan(ScanResult(("/repo",), START, findings=(*TOKENS, AWS, PASS)), START)
        store.set_status(PASS.fingerprint, TriageStatus.FALSE_POSITIVE, "fixture data")
    return path


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def listed(db: Path, *args: str) -> list[str]:
    result = run("findings", "--db", db, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return [f["rule_id"] for f in json.loads(result.stdout)["findings"]]


def test_text_is_a_plain_table_without_escape_codes_or_secrets(db: Path) -> None:
    result = run("findings", "--db", db)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b[" not in out
    assert TOKEN not in out and AWS_SECRET not in out and PASSWORD not in out
    header = out.splitlines()[0].split()
    assert header[:4] == ["fingerprint", "severity", "rule", "status"]
    line = next(line for line in out.splitlines() if "github-pat" in line)
    assert line.split()[0] == TOKENS[0].fingerprint[:12]
    assert "open" in line and "svc0/settings.py:4" in line and " 3 " in line
    assert KEY_ID in out
    assert out.rstrip().endswith("3 findings")


def test_json_and_csv_carry_every_location(db: Path) -> None:
    document = json.loads(run("findings", "--db", db, "--format", "json").stdout)
    token = next(f for f in document["findings"] if f["rule_id"] == "github-pat")
    assert token["fingerprint"] == TOKENS[0].fingerprint and token["secret_preview"] == redact(TOKEN)
    assert [loc["path"] for loc in token["locations"]] == [
        "svc0/settings.py",
        "svc1/settings.py",
        "svc2/settings.py",
    ]
    assert token["status"] == "open" and token["times_seen"] == 1
    assert datetime.fromisoformat(token["first_seen_at"]) == START

    rows = list(csv.DictReader(io.StringIO(run("findings", "--db", db, "--format", "csv").stdout)))
    assert len(rows) == 5  # three locations of the token, one each for the others
    aws = next(row for row in rows if row["rule_id"] == "aws-access-key-id")
    assert aws["key_id"] == KEY_ID and aws["secret_found"] == "true" and aws["path"] == "deploy/prod.env"
    password = next(row for row in rows if row["rule_id"] == "generic-password")
    assert password["status"] == "false_positive" and password["status_note"] == "fixture data"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ["aws-access-key-id", "github-pat", "generic-password"]),
        (("--status", "open"), ["aws-access-key-id", "github-pat"]),
        (("--status", "false_positive", "--status", "revoked"), ["generic-password"]),
        (("--rule", "github-pat"), ["github-pat"]),
        (("--severity", "high"), ["aws-access-key-id", "github-pat"]),
        (("--severity", "CRITICAL"), ["aws-access-key-id"]),
        (("--path", "deploy/"), ["aws-access-key-id", "generic-password"]),
        (("--path", "*.env"), ["aws-access-key-id"]),
        (("--key-id", KEY_ID), ["aws-access-key-id"]),
        (("--source", "git"), ["generic-password"]),
        (("--scan", "1", "--since", "2024-05-01"), ["aws-access-key-id", "github-pat", "generic-password"]),
        (("--since", "2024-05-02"), []),
        (("--rule", "no-such-rule"), []),
    ],
)
def test_findings_filters(db: Path, args: tuple[str, ...], expected: list[str]) -> None:
    assert listed(db, *args) == expected


def test_an_empty_list_says_so(db: Path) -> None:
    result = run("findings", "--db", db, "--rule", "no-such-rule")
    assert result.exit_code == 0 and result.stdout.strip() == "No findings match."


def test_output_writes_a_file(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    result = run("findings", "--db", db, "--format", "csv", "--output", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert len(list(csv.DictReader(target.open(encoding="utf-8")))) == 5


def test_triage_by_prefix_prints_the_new_state_and_sticks(db: Path) -> None:
    prefix = TOKENS[0].fingerprint[:8]
    result = run("triage", prefix, "--status", "revoked", "--note", "rotated 2024-05-02", "--db", db)
    assert result.exit_code == 0, result.output
    assert TOKENS[0].fingerprint[:12] in result.stdout and "open → revoked" in result.stdout
    assert "rotated 2024-05-02" in result.stdout
    assert listed(db, "--status", "revoked") == ["github-pat"]
    with Store.open(db) as store:
        assert [e.new_status for e in store.triage_history(prefix)] == [TriageStatus.REVOKED]


@pytest.mark.parametrize(
    ("fingerprint", "message"),
    [
        ("0000000000", "No finding in the database has a fingerprint starting with 0000000000."),
        ("abc", "too short"),
        ("zzzzzzzzzz", "is not a fingerprint"),
    ],
)
def test_triage_of_an_unknown_fingerprint_exits_2_with_a_clear_message(
    db: Path, fingerprint: str, message: str
) -> None:
    result = run("triage", fingerprint, "--status", "revoked", "--db", db)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_triage_of_an_ambiguous_prefix_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "keysweep.db"
    twins = [
        Finding(
            rule_id="generic-password",
            rule_name="password",
            severity=Severity.LOW,
            location=Location(SourceKind.FILE, "/r", "a"),
            line=1,
            column=1,
            secret=f"{PASSWORD}{n}",
            fingerprint="feedbeef" + str(n) * 56,  # two fingerprints sharing their first 8 characters
            preview="T…",
        )
        for n in (1, 2)
    ]
    with Store.open(path) as store:
        store.record_scan(ScanResult(("/r",), START, findings=tuple(twins)), START)
    result = run("triage", "feedbeef", "--status", "revoked", "--db", path)
    assert result.exit_code == 2 and "matches several findings" in result.stderr


def test_triage_requires_a_valid_status(db: Path) -> None:
    result = run("triage", TOKENS[0].fingerprint, "--status", "ignored", "--db", db)
    assert result.exit_code == 2 and "ignored" in result.stderr


def test_a_missing_database_exits_3_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.db"
    result = run("findings", "--db", path)
    assert result.exit_code == 3 and "no findings database" in result.stderr
    assert not path.exists()


def test_a_corrupt_database_exits_3_with_one_line_and_no_traceback(
    tmp_path: Path, keysweep: Keysweep
) -> None:
    keysweep.db.write_bytes(random.Random(3).randbytes(4096))
    for args in (("findings",), ("triage", TOKENS[0].fingerprint, "--status", "revoked")):
        done = keysweep(*args)
        assert done.code == 3, done.stderr
        assert done.stdout == "" and "Traceback" not in done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith("keysweep: error: ") and str(keysweep.db) in line


def test_every_command_and_option_has_help_text() -> None:
    context = click.Context(cli)
    names = cli.list_commands(context)
    for name in names:
        command = cli.get_command(context, name)
        assert command is not None and command.name == name
        assert (command.help or "").strip(), f"`keysweep {name}` has no docstring"
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        for parameter in command.params:
            if isinstance(parameter, click.Option) and not parameter.hidden:
                assert (parameter.help or "").strip(), f"`keysweep {name} {parameter.opts[0]}` has no help"
    assert {"scan", "findings", "triage", "hygiene"} <= set(names)
