"""Helpers for the CI tests: real git repositories made in the test."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import Keysweep

TOKEN = "ghp_R8m2Kq7ZtX4vN1pL6sW9yB3cD5fH0jG2aE7u"
TOKEN2 = "ghp_Z3n5Lq8WtY6vM2pK9sR4xB7cF1dH0jG5aQ2e"
KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
SECRET = "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"


def git(repo: Path, *args: str, input: str | None = None) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Alice", "-c", "user.email=alice@example.org", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        input=input,
    )
    return done.stdout.strip()


def write(repo: Path, files: dict[str, str | None]) -> None:
    for name, content in files.items():
        path = repo / name
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)


def commit(repo: Path, message: str, files: dict[str, str | None]) -> str:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def new_repo(root: Path, name: str = "repo") -> Path:
    repo = root / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "initial", {"app.py": "print('hello')\n"})
    return repo


def scan_json(keysweep: Keysweep, repo: Path, *args: str | Path) -> tuple[int, dict[str, Any]]:
    run = keysweep("scan", *args, "-q", "-f", "json", cwd=repo)
    assert run.code in (0, 1), run.stderr
    return run.code, json.loads(run.stdout)


def rule_paths(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["rule_id"], f["path"]) for f in report["findings"])
