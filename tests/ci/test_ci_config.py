"""Configuration in CI: --fail-on, gitleaks imports, inline allows, range reads config from the base."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from ci_helpers import KEY_ID, SECRET, TOKEN, TOKEN2, commit, git, new_repo, rule_paths, scan_json, write

from scanner.repo_settings import SETTINGS_FILES, resolve_range
from scanner.sources.interface import SourceError
from tests.conftest import Keysweep

MEDIUM_LEAK = "password = 'Wq8!vR2#kLp9zT4m'\n"


def _severities(report: dict) -> set[str]:
    return {f["severity"] for f in report["findings"]}


def test_fail_on_threshold_option_and_config(tmp_path: Path, keysweep: Keysweep) -> None:
    tree = tmp_path / "tree"
    write(tree, {"settings.py": f"DB_PASSWORD = 'Wq8vR2kLp9zT4mXa'\napi_key = '{TOKEN}'\n"})
    code, report = scan_json(keysweep, tree, ".")
    assert code == 1
    assert "critical" in _severities(report)
    assert scan_json(keysweep, tree, ".", "--fail-on", "critical")[0] == 1
    write(tree, {"settings.py": "DB_PASSWORD = 'Wq8vR2kLp9zT4mXa'\n"})
    code, report = scan_json(keysweep, tree, ".")
    if not report["findings"]:
        return  # the generic rule did not fire: nothing more to check here
    lowest = max(_severities(report), key=["critical", "high", "medium", "low", "info"].index)
    assert lowest != "critical"
    code, report = scan_json(keysweep, tree, ".", "--fail-on", "critical")
    assert code == 0 and report["findings"]  # still reported, does not fail
    write(tree, {".keysweep.toml": '[ci]\nfail_on = "critical"\n'})
    assert scan_json(keysweep, tree, ".")[0] == 0
    bad = keysweep("scan", ".", "-q", cwd=tree)
    write(tree, {".keysweep.toml": '[ci]\nfail_on = "severe"\n'})
    bad = keysweep("scan", ".", "-q", cwd=tree)
    assert bad.code == 2 and "severity" in bad.stderr


def test_inline_allow_comments(tmp_path: Path, keysweep: Keysweep) -> None:
    tree = tmp_path / "tree"
    write(
        tree,
        {
            "a.py": f"t = '{TOKEN}'  # keysweep:allow\n",
            "b.py": f"t = '{TOKEN}'  # gitleaks:allow\n",
            "c.py": f"t = '{TOKEN}'  # pragma: allowlist secret\n",
        },
    )
    code, report = scan_json(keysweep, tree, ".", "--show-suppressed")
    assert code == 0
    assert {s["suppressed_by"] for s in report["suppressed"]} == {"inline-allow"}
    write(tree, {"d.py": f"t = '{TOKEN}'\n"})
    assert rule_paths(scan_json(keysweep, tree, ".")[1]) == [("github-personal-access-token", "d.py")]


GITLEAKS_OLD = """
title = "ours"
[allowlist]
description = "fixtures"
paths = ['''^fixtures/''']
regexes = ['''^ghp_Z3n5''']
stopwords = ["sandbox"]
commits = ["{commit}"]
"""

GITLEAKS_NEW = """
[[allowlists]]
description = "fixtures"
paths = ['''^fixtures/''']
[[allowlists]]
targetRules = ["github-pat"]
regexes = ['''^ghp_Z3n5''']
[[allowlists]]
condition = "AND"
paths = ['''x''']
regexes = ['''y''']
[[allowlists]]
regexTarget = "line"
regexes = ['''.*''']
"""


def test_gitleaks_config_import_old_and_new_forms(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    old = commit(repo, "old leak", {"old.py": f"k = '{KEY_ID}'\ns = '{SECRET}'\n"})
    files = {
        "fixtures/a.py": f"t = '{TOKEN}'\n",
        "b.py": f"t = '{TOKEN2}'\n",
        "c.py": "t = 'ghp_sandboxR8m2Kq7ZtX4vN1pL6sW9yB3cD5fH0'\n",
        "d.py": f"t = '{TOKEN}'\n",
    }
    write(repo, {**files, ".gitleaks.toml": GITLEAKS_OLD.format(commit=old)})
    _code, report = scan_json(keysweep, repo, ".", "--show-suppressed")
    reported = rule_paths(report)
    assert ("github-personal-access-token", "d.py") in reported
    assert not any(path in ("fixtures/a.py", "b.py", "c.py", "old.py") for _rule, path in reported)
    reasons = {s["suppressed_by"] for s in report["suppressed"]}
    assert {"gitleaks[1]:regex", "gitleaks[1]:commit"} <= reasons  # allowlisted paths are not even read
    assert any("gitleaks: imported" in note for note in report["scan"]["notes"])

    write(repo, {".gitleaks.toml": GITLEAKS_NEW})
    _code, report = scan_json(keysweep, repo, ".", "--no-history")
    reported = rule_paths(report)
    assert ("github-personal-access-token", "d.py") in reported
    assert not any(path in ("fixtures/a.py", "b.py") for _rule, path in reported)
    notes = " ".join(report["scan"]["notes"])
    assert "AND" in notes and "regexTarget" in notes
    # [ci] gitleaks = false turns the import off
    write(repo, {".keysweep.toml": "[ci]\ngitleaks = false\n"})
    reported = rule_paths(scan_json(keysweep, repo, ".", "--no-history")[1])
    assert ("github-personal-access-token", "b.py") in reported


def test_gitleaksignore_maps_path_and_rule(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    leak = commit(repo, "leaks", {"a.py": f"t = '{TOKEN}'\n", "b.py": f"t = '{TOKEN2}'\n"})
    write(
        repo,
        {
            ".gitleaksignore": (
                f"# reviewed\n{leak}:a.py:github-pat:1\nb.py:some-gitleaks-only-rule:1\ngarbage\n"
            ),
        },
    )
    _code, report = scan_json(keysweep, repo, ".", "--show-suppressed")
    reported = rule_paths(report)
    assert ("github-personal-access-token", "b.py") in reported
    assert ("github-personal-access-token", "a.py") not in reported
    assert "gitleaksignore" in {s["suppressed_by"] for s in report["suppressed"]}
    notes = " ".join(report["scan"]["notes"])
    assert "some-gitleaks-only-rule" in notes and "not a gitleaks fingerprint" in notes


def test_range_reads_config_from_the_base_and_reports_changes(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    commit(repo, "config", {".keysweep.toml": '[allowlist]\npaths = ["^docs/"]\n'})
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "pr")
    # the pull request leaks a token and allowlists its own file, ignores it for gitleaks, baselines it
    commit(
        repo,
        "leak and silence it",
        {
            "src/leak.py": f"t = '{TOKEN}'\n",
            ".keysweep.toml": '[allowlist]\npaths = ["^docs/", "^src/"]\n[ci]\nfail_on = "info"\n',
            ".gitleaksignore": "src/leak.py:github-pat:1\n",
        },
    )
    code, report = scan_json(keysweep, repo, "--range", f"{base}..pr", "--show-suppressed")
    assert code == 1
    assert rule_paths(report) == [("github-personal-access-token", "src/leak.py")]
    changed = sorted(s["path"] for s in report["skipped"] if s["reason"] == "config-changed")
    assert changed == [".gitleaksignore", ".keysweep.toml"]
    assert any("config-changed" in note for note in report["scan"]["notes"])
    # the base's own allowlist still applies in range mode
    commit(repo, "docs", {"docs/x.md": f"{TOKEN2}\n"})
    code, report = scan_json(keysweep, repo, "--range", f"{base}..pr")
    assert ("github-personal-access-token", "docs/x.md") not in rule_paths(report)
    # a working-tree scan of the head uses the head's config (the PR's allowlist)
    assert rule_paths(scan_json(keysweep, repo, ".", "--no-history")[1]) == []
    # --no-repo-config: nothing from the repository applies, nothing is reported as changed
    code, report = scan_json(keysweep, repo, "--range", f"{base}..pr", "--no-repo-config")
    assert ("github-personal-access-token", "docs/x.md") in rule_paths(report)
    assert not [s for s in report["skipped"] if s["reason"] == "config-changed"]


def test_range_baseline_is_read_from_the_base(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    commit(repo, "known", {"known.py": f"t = '{TOKEN2}'\n"})
    assert keysweep("baseline", "create", repo, "--no-history").code == 0
    commit(repo, "baseline", {})
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "pr")
    commit(repo, "leak", {"leak.py": f"t = '{TOKEN}'\n", "known2.py": f"u = '{TOKEN2}'\n"})
    # the PR adds its leak to the baseline file
    assert keysweep("baseline", "create", repo, "--no-history").code == 0
    commit(repo, "baseline my leak", {})
    code, report = scan_json(
        keysweep, repo, "--range", f"{base}..pr", "--baseline", ".keysweep-baseline.json"
    )
    assert code == 1
    assert rule_paths(report) == [("github-personal-access-token", "leak.py")]
    assert [s["path"] for s in report["skipped"] if s["reason"] == "config-changed"] == [
        ".keysweep-baseline.json"
    ]


def test_range_resolution_reads_the_base_settings_in_the_same_git_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = new_repo(tmp_path)
    base = commit(repo, "config", {".keysweep.toml": "[ci]\nfail_on = 'high'\n", ".gitleaks.toml/x": "a dir"})
    head = commit(repo, "more", {"b.py": "x = 1\n"})
    started: list[list[str]] = []
    real_run = subprocess.run

    def run(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        started.append(argv)
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    found = resolve_range(repo, f"{base[:10]}..main", None, SETTINGS_FILES)
    assert (found.base, found.head) == (base, head)
    # a directory called .gitleaks.toml is no settings file
    assert found.files == {
        ".keysweep.toml": b"[ci]\nfail_on = 'high'\n",
        ".gitleaks.toml": None,
        ".gitleaksignore": None,
    }
    assert [argv[argv.index("cat-file") + 1] for argv in started if "cat-file" in argv] == ["--batch"]
    assert not [argv for argv in started if "--verify" in argv]  # no rev-parse per commit
    with pytest.raises(SourceError, match="'nope' is not a commit"):
        resolve_range(repo, "nope..main", None, SETTINGS_FILES)
