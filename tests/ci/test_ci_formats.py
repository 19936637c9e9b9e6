"""Every CI format on a real range scan: GitHub annotations, GitLab report, JUnit, SARIF."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ci_helpers import TOKEN, commit, git, new_repo

from tests.conftest import Keysweep

# Workflow command syntax (docs.github.com, "Workflow commands for GitHub Actions"): ::level props::message,
# properties `key=value` separated by commas; `%`, CR, LF escaped everywhere, `:` and `,` too in values.
ANNOTATION = re.compile(
    r"^::(error|warning|notice)(?: ((?:[a-zA-Z]+=[^,:\r\n]*)(?:,[a-zA-Z]+=[^,:\r\n]*)*))?::(.*)$"
)
SEVERITIES = {"Critical", "High", "Medium", "Low", "Info", "Unknown"}


def _pr(tmp_path: Path) -> tuple[Path, str, str]:
    repo = new_repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD")
    leak = commit(repo, "leak", {"odd, name:x.py": f"t = '{TOKEN}'\n", "ok.py": "x = 1\n"})
    commit(repo, "config change", {".keysweep.toml": "[rules]\n"})
    return repo, base, leak


def test_github_annotations(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, base, leak = _pr(tmp_path)
    run = keysweep("scan", "--range", f"{base}..HEAD", "-q", "-f", "github", cwd=repo)
    assert run.code == 1, run.stderr
    lines = run.stdout.splitlines()
    parsed = [ANNOTATION.match(line) for line in lines]
    assert all(parsed), lines
    errors = [m for m in parsed if m and m.group(1) == "error"]
    assert len(errors) == 1
    props = dict(p.split("=", 1) for p in errors[0].group(2).split(","))
    assert props["file"] == "odd%2C name%3Ax.py"
    assert props["line"] == "1" and props["col"].isdigit()
    assert props["title"].startswith("keysweep%3A ")
    assert leak[:12] in errors[0].group(3) and TOKEN not in run.stdout
    warnings = [m for m in parsed if m and m.group(1) == "warning"]
    assert any("file=.keysweep.toml" in (m.group(2) or "") for m in warnings)
    clean = keysweep("scan", "--range", "HEAD~1..HEAD", "-q", "-f", "github", cwd=repo)
    assert clean.code == 0 and all(not line.startswith("::error") for line in clean.stdout.splitlines())


def test_gitlab_secret_detection_report(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, base, leak = _pr(tmp_path)
    run = keysweep("scan", "--range", f"{base}..HEAD", "-q", "-f", "gitlab", cwd=repo)
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    assert re.match(r"^\d+\.\d+\.\d+$", report["version"])
    scan = report["scan"]
    assert scan["type"] == "secret_detection" and scan["status"] == "success"
    for tool in (scan["analyzer"], scan["scanner"]):
        assert {"id", "name", "version", "vendor"} <= set(tool) and tool["vendor"]["name"]
    for key in ("start_time", "end_time"):
        assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$", scan[key])
    assert all(m["level"] in ("info", "warn", "fatal") for m in scan["messages"])
    assert any("configuration changed" in m["value"] for m in scan["messages"])
    (vulnerability,) = report["vulnerabilities"]
    assert vulnerability["category"] == "secret_detection"
    assert isinstance(vulnerability["id"], str) and vulnerability["id"]
    assert vulnerability["severity"] in SEVERITIES
    location = vulnerability["location"]
    assert location["file"] == "odd, name:x.py" and location["start_line"] == 1
    assert location["commit"]["sha"] == leak
    (identifier,) = vulnerability["identifiers"]
    assert {"type", "name", "value"} <= set(identifier)
    assert TOKEN not in run.stdout
    again = json.loads(keysweep("scan", "--range", f"{base}..HEAD", "-q", "-f", "gitlab", cwd=repo).stdout)
    assert again["vulnerabilities"][0]["id"] == vulnerability["id"]  # stable ids


def test_junit_report(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, base, _leak = _pr(tmp_path)
    run = keysweep("scan", "--range", f"{base}..HEAD", "-q", "-f", "junit", cwd=repo)
    assert run.code == 1, run.stderr
    root = ET.fromstring(run.stdout)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failures = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert len(failures) == 1 and failures[0].get("classname") == "keysweep.github-personal-access-token"
    assert any(case.find("skipped") is not None for case in suite.iter("testcase"))
    assert TOKEN not in run.stdout
    clean = keysweep("scan", "--range", "HEAD~1..HEAD", "-q", "-f", "junit", "--no-repo-config", cwd=repo)
    assert clean.code == 0
    suite = ET.fromstring(clean.stdout).find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and int(suite.get("tests", "0")) >= 1


def test_sarif_on_a_staged_scan(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    (repo / "s.py").write_text(f"t = '{TOKEN}'\n")
    git(repo, "add", "s.py")
    run = keysweep("scan", "--staged", "-q", "-f", "sarif", cwd=repo)
    assert run.code == 1
    sarif = json.loads(run.stdout)
    (result,) = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "s.py"
