"""The `keysweep scan` command as a user runs it: exit codes, formats, redaction, config, database."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import Keysweep

KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
SECRET = "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"
GITHUB_TOKEN = "ghp_" + "R8m2Kq7ZtX4vN1pL6sW9yB3cD5fH0jG2aE7u"


def project(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("import os\n\nDEBUG = True\n")
    (root / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n")
    return root


def test_clean_directory_exits_0(tmp_path: Path, keysweep: Keysweep) -> None:
    (tmp_path / "readme.md").write_text("nothing to see\n")
    run = keysweep("scan", tmp_path, "--quiet")
    assert run.code == 0, run.stderr
    assert "No secrets found" in run.stdout


def test_findings_exit_1_and_a_key_with_its_secret_is_one_redacted_finding(
    tmp_path: Path, keysweep: Keysweep
) -> None:
    root = project(tmp_path / "proj")
    run = keysweep("scan", root, "--format", "json", "--quiet")
    assert run.code == 1, run.stderr
    document = json.loads(run.stdout)
    aws = [f for f in document["findings"] if f.get("key_id") == KEY_ID]
    assert len(aws) == 1
    finding = aws[0]
    assert finding["secret_found"] is True
    assert finding["path"] == "deploy.env" and finding["line"] == 1
    assert finding["source"] == "file"
    assert finding["secret_preview"] == "9fJ2…jK/+"
    assert SECRET not in run.stdout and "secret" not in finding


def test_show_secrets_is_the_only_way_to_print_a_secret(tmp_path: Path, keysweep: Keysweep) -> None:
    root = project(tmp_path / "proj")
    for output_format in ("text", "json", "jsonl", "sarif", "csv"):
        hidden = keysweep("scan", root, "--format", output_format, "--quiet")
        assert hidden.code == 1 and SECRET not in hidden.stdout + hidden.stderr, output_format
        shown = keysweep("scan", root, "--format", output_format, "--quiet", "--show-secrets")
        assert shown.code == 1 and SECRET in shown.stdout, output_format


def test_every_format_is_machine_readable(tmp_path: Path, keysweep: Keysweep) -> None:
    root = project(tmp_path / "proj")
    lines = keysweep("scan", root, "-f", "jsonl", "-q").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert any(r.get("key_id") == KEY_ID for r in records)
    sarif = json.loads(keysweep("scan", root, "-f", "sarif", "-q").stdout)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    rows = list(csv.DictReader(io.StringIO(keysweep("scan", root, "-f", "csv", "-q").stdout)))
    assert any(row["key_id"] == KEY_ID for row in rows)


def test_output_file(tmp_path: Path, keysweep: Keysweep) -> None:
    root = project(tmp_path / "proj")
    target = tmp_path / "report.sarif"
    run = keysweep("scan", root, "-f", "sarif", "--output", target)
    assert run.code == 1 and run.stdout == ""
    assert json.loads(target.read_text())["runs"][0]["results"]
    assert "1 finding" in run.stderr


def test_usage_and_config_errors_exit_2(tmp_path: Path, keysweep: Keysweep) -> None:
    assert keysweep("scan", tmp_path / "missing", "-q").code == 2
    assert keysweep("scan", tmp_path, "--format", "yaml").code == 2
    (tmp_path / ".keysweep.toml").write_text("[rules]\ndisable = ['no-such-rule']\n")
    run = keysweep("scan", tmp_path, "-q")
    assert run.code == 2 and "no-such-rule" in run.stderr and "Traceback" not in run.stderr
    (tmp_path / ".keysweep.toml").write_text("this is = = not toml\n")
    run = keysweep("scan", tmp_path, "-q")
    assert run.code == 2 and ".keysweep.toml" in run.stderr


def test_an_unusable_database_exits_3_with_one_line(tmp_path: Path, keysweep: Keysweep) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(bytes(range(256)) * 64)
    (tmp_path / "src").mkdir()
    run = keysweep("scan", tmp_path / "src", "-q", "--db", corrupt)
    assert run.code == 3, run.stderr
    assert "Traceback" not in run.stderr and run.stderr.count("error:") == 1


def test_documentation_examples_and_templates_are_suppressed_and_visible_on_request(
    tmp_path: Path, keysweep: Keysweep
) -> None:
    (tmp_path / "docs.md").write_text(
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    assert keysweep("scan", tmp_path, "-q").code == 0
    run = keysweep("scan", tmp_path, "-q", "-f", "json", "--show-suppressed")
    suppressed = json.loads(run.stdout)["suppressed"]
    assert {s["suppressed_by"] for s in suppressed} == {"aws-documentation-example"}


def test_inline_allow_and_config_allowlists(tmp_path: Path, keysweep: Keysweep) -> None:
    (tmp_path / "a.env").write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}  # keysweep:allow\n")
    assert keysweep("scan", tmp_path, "-q").code == 0
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "b.env").write_text(f"token={GITHUB_TOKEN}\n")
    (tmp_path / "c.env").write_text("AWS_ACCESS_KEY_ID=AKIA3NQ5RWE7TY2UIOPL\n")
    (tmp_path / ".keysweep.toml").write_text(
        "[allowlist]\npaths = ['^fixtures/']\nvalues = ['AKIA3NQ5RWE7TY2UIOPL']\n"
    )
    run = keysweep("scan", tmp_path, "-q", "-f", "json", "--show-suppressed")
    assert run.code == 0, run.stdout
    reasons = sorted(s["suppressed_by"] for s in json.loads(run.stdout)["suppressed"])
    assert reasons == ["allowlist:value", "inline-allow"]  # fixtures/ is never even read


def test_config_disables_and_adds_rules(tmp_path: Path, keysweep: Keysweep) -> None:
    (tmp_path / "x.txt").write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}\ninternal=ACME-7f3K9qLm2Xv8Rt4W\n")
    (tmp_path / ".keysweep.toml").write_text(
        "[rules]\ndisable = ['aws-access-key-id']\n\n"
        "[[custom_rules]]\nid = 'acme-token'\nname = 'ACME internal token'\nseverity = 'high'\n"
        "pattern = '''(?P<secret>ACME-[A-Za-z0-9]{16})'''\nkeywords = ['acme-']\n"
        "examples = ['t=ACME-7f3K9qLm2Xv8Rt4W']\n"
    )
    document = json.loads(keysweep("scan", tmp_path, "-q", "-f", "json").stdout)
    assert [f["rule_id"] for f in document["findings"]] == ["acme-token"]


def test_a_key_copied_into_five_files_is_one_stored_finding_with_five_locations(
    tmp_path: Path, keysweep: Keysweep
) -> None:
    for index in range(5):
        (tmp_path / f"copy{index}.env").write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}\n")
    assert keysweep("scan", tmp_path, "-q").code == 1
    stored = json.loads(keysweep("findings", "--format", "json").stdout)["findings"]
    assert len(stored) == 1
    assert stored[0]["key_id"] == KEY_ID and len(stored[0]["locations"]) == 5


def test_triage_survives_rescans_and_silences_false_positives(tmp_path: Path, keysweep: Keysweep) -> None:
    (tmp_path / "a.env").write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}\n")
    first = json.loads(keysweep("scan", tmp_path, "-q", "-f", "json").stdout)
    fingerprint = first["findings"][0]["fingerprint"]
    triage = keysweep("triage", fingerprint[:12], "--status", "false_positive", "--note", "test fixture")
    assert triage.code == 0, triage.stderr
    rescan = keysweep("scan", tmp_path, "-q", "-f", "json", "--show-suppressed")
    assert rescan.code == 0
    assert json.loads(rescan.stdout)["suppressed"][0]["suppressed_by"] == "triage:false_positive"
    stored = json.loads(keysweep("findings", "--format", "json").stdout)["findings"]
    assert stored[0]["status"] == "false_positive"


def test_hostile_inputs_never_crash_the_scan(tmp_path: Path, keysweep: Keysweep) -> None:
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)) * 4096)
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9 \xff\xfe\xfd " + f"AWS_ACCESS_KEY_ID={KEY_ID}".encode())
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    run = keysweep("scan", tmp_path, "-q", "-f", "json")
    assert run.code == 1, run.stderr
    document = json.loads(run.stdout)
    assert [f["path"] for f in document["findings"]] == ["latin1.txt"]
    assert any(s["path"].startswith("broken.zip") for s in document["skipped"])


def test_a_sparse_2gb_file_is_skipped_by_default_and_scanned_on_request(
    tmp_path: Path, keysweep: Keysweep
) -> None:
    sparse = tmp_path / "disk.img"
    line = f"\nAWS_ACCESS_KEY_ID={KEY_ID}\n".encode()
    with sparse.open("wb") as handle:
        handle.truncate(2 * 1024**3)
        handle.seek(2 * 1024**3 - len(line))
        handle.write(line)
    run = keysweep("scan", tmp_path, "-q", "-f", "json")
    assert run.code == 0
    (skipped,) = json.loads(run.stdout)["skipped"]
    assert skipped["reason"] == "too-large" and "2.0 GB" in skipped["detail"]
    run = keysweep("scan", tmp_path, "-q", "-f", "json", "--max-file-size", "3GB", timeout=300)
    assert run.code == 1
    assert json.loads(run.stdout)["findings"][0]["line"] == 2


def test_every_command_has_help(keysweep: Keysweep) -> None:
    top = keysweep("--help")
    assert top.code == 0 and "Exit codes" in top.stdout
    for command in ("scan", "findings", "triage", "rules"):
        run = keysweep(command, "--help")
        assert run.code == 0 and len(run.stdout.splitlines()) > 3, command


# What `keysweep scan` must not load (start-up time: issue 4's CI step and pre-commit hook budgets).
_NOT_FOR_A_SCAN = (
    "sqlite_utils",  # only to migrate an older database (a new one gets scanner/store/schema.sql)
    "rich",  # only for the text format or a progress bar on a terminal
    "multiprocessing",  # only when the scan is big enough for worker processes
    "scanner.cli.findings",  # the other commands
    "scanner.cli.hygiene",
    "scanner.cli.iam",
    "scanner.report.text",  # the other formats
    "scanner.report.sarif",
    "scanner.report.junit",
)


def test_a_json_scan_loads_only_what_it_needs(tmp_path: Path, keysweep: Keysweep) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "app.py").write_text(f"token = '{GITHUB_TOKEN}'\n")
    script = (
        "import runpy, sys\n"
        f"sys.argv = ['keysweep', 'scan', {str(tmp_path / 'tree')!r}, '-q', '-f', 'json']\n"
        "try:\n"
        "    runpy.run_module('scanner', run_name='__main__')\n"
        "except SystemExit:\n"
        "    print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
        "    raise\n"
    )
    for _database in ("new", "existing"):
        done = subprocess.run(
            [sys.executable, "-c", script], env=keysweep.env(), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1, done.stderr
        assert json.loads(done.stdout)["findings"]
        loaded = set(done.stderr.split())
        unwanted = {n for n in loaded if any(n == m or n.startswith(f"{m}.") for m in _NOT_FOR_A_SCAN)}
        assert not unwanted, sorted(unwanted)
