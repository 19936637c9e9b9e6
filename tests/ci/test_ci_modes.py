"""`keysweep scan --staged`, `--range`, `--since`, `--pre-push` and `install-hook` on real repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ci_helpers import TOKEN, TOKEN2, commit, git, new_repo, scan_json, write

from tests.conftest import Keysweep

ZERO = "0" * 40


def test_staged_scans_only_the_index(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    commit(repo, "old leak", {"old.py": f"t = '{TOKEN2}'\n"})
    write(repo, {"new.py": f"token = '{TOKEN}'\n", "unstaged.py": f"x = '{TOKEN2}'\n"})
    git(repo, "add", "new.py")
    code, report = scan_json(keysweep, repo, "--staged")
    assert code == 1
    assert [(f["path"], f["line"], f["commit"]) for f in report["findings"]] == [("new.py", 1, None)]
    # the staged content is what counts, not the working tree
    write(repo, {"new.py": "clean = True\n"})
    assert scan_json(keysweep, repo, "--staged")[0] == 1
    git(repo, "add", "new.py")
    assert scan_json(keysweep, repo, "--staged")[0] == 0


def test_staged_before_the_first_commit_and_with_deletions(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, {"a.py": f"t = '{TOKEN}'\n"})
    git(repo, "add", "a.py")
    code, report = scan_json(keysweep, repo, "--staged")
    assert code == 1 and report["findings"][0]["path"] == "a.py"
    git(repo, "commit", "-q", "-m", "x")
    git(repo, "rm", "-q", "a.py")
    assert scan_json(keysweep, repo, "--staged")[0] == 0


def test_staged_never_runs_repository_filters(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    marker = tmp_path / "pwned"
    write(repo, {".gitattributes": "*.py filter=evil\n", "b.py": f"t = '{TOKEN}'\n"})
    git(repo, "add", ".gitattributes", "b.py")
    git(repo, "config", "filter.evil.clean", f"touch {marker}; cat")
    git(repo, "config", "core.fsmonitor", f"touch {marker}")
    git(repo, "config", "core.hooksPath", str(tmp_path))
    (repo / "b.py").touch()  # stat-dirty: a careless `git status` would run the clean filter
    assert scan_json(keysweep, repo, "--staged")[0] == 1
    assert not marker.exists()


def test_range_and_since_scan_what_the_commits_introduced(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    commit(repo, "old leak", {"old.py": f"t = '{TOKEN2}'\n"})
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature")
    leak = commit(repo, "leak", {"feature.py": f"t = '{TOKEN}'\n"})
    commit(repo, "fix", {"feature.py": "t = None\n"})
    code, report = scan_json(keysweep, repo, "--range", f"{base}..feature")
    assert code == 1
    assert [(f["path"], f["commit"]) for f in report["findings"]] == [("feature.py", leak)]
    code, report = scan_json(keysweep, repo, "--since", "main")
    assert code == 1 and [f["commit"] for f in report["findings"]] == [leak]
    assert scan_json(keysweep, repo, "--range", "HEAD~1..HEAD")[0] == 0
    bad = keysweep("scan", "--range", "nope..HEAD", "-q", cwd=repo)
    assert bad.code == 2 and "nope" in bad.stderr


def _push_lines(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


def _pre_push(keysweep: Keysweep, repo: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "--pre-push", "-q", "-f", "json", *args],
        cwd=repo,
        env=keysweep.env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pre_push_updates_new_branches_and_deletions(tmp_path: Path, keysweep: Keysweep) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo = new_repo(tmp_path)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    pushed = git(repo, "rev-parse", "HEAD")
    commit(repo, "already on the remote? no: a local leak", {"a.py": f"t = '{TOKEN2}'\n"})
    leak_main = git(repo, "rev-parse", "HEAD")
    # an update of main: remote..local
    done = _pre_push(keysweep, repo, _push_lines(f"refs/heads/main {leak_main} refs/heads/main {pushed}"))
    assert done.returncode == 1, done.stderr
    assert "a.py" in done.stdout
    # a new branch: only what no remote-tracking ref has
    git(repo, "checkout", "-q", "-b", "topic", pushed)
    topic = commit(repo, "topic", {"t.py": f"t = '{TOKEN}'\n"})
    done = _pre_push(keysweep, repo, _push_lines(f"refs/heads/topic {topic} refs/heads/topic {ZERO}"))
    assert done.returncode == 1
    assert "t.py" in done.stdout and "a.py" not in done.stdout
    # a deletion scans nothing
    done = _pre_push(keysweep, repo, _push_lines(f"(delete) {ZERO} refs/heads/old {pushed}"))
    assert done.returncode == 0, done.stderr
    # a clean push
    git(repo, "checkout", "-q", "-b", "clean", pushed)
    clean = commit(repo, "clean", {"c.py": "x = 1\n"})
    done = _pre_push(keysweep, repo, _push_lines(f"refs/heads/clean {clean} refs/heads/clean {ZERO}"))
    assert done.returncode == 0, done.stderr
    # garbage on stdin is a usage error
    assert _pre_push(keysweep, repo, "not a push line\n").returncode == 2


def test_install_hook_pre_commit_and_pre_push(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    run = keysweep("install-hook", cwd=repo)
    assert run.code == 0, run.stderr
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert os.access(hook, os.X_OK) and "--staged" in hook.read_text()
    env = {**keysweep.env(), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    write(repo, {"leak.py": f"t = '{TOKEN}'\n"})
    git(repo, "add", "leak.py")
    blocked = subprocess.run(["git", "commit", "-q", "-m", "leak"], cwd=repo, env=env, capture_output=True)
    assert blocked.returncode != 0
    write(repo, {"leak.py": "t = None\n"})
    git(repo, "add", "leak.py")
    ok = subprocess.run(
        ["git", "-c", "user.name=A", "-c", "user.email=a@b", "commit", "-q", "-m", "ok"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    # a foreign hook is not replaced without --force; ours is replaced freely
    assert keysweep("install-hook", cwd=repo).code == 0
    (repo / ".git" / "hooks" / "pre-push").write_text("#!/bin/sh\necho mine\n")
    refused = keysweep("install-hook", "--pre-push", cwd=repo)
    assert refused.code == 2 and "--force" in refused.stderr
    assert "mine" in (repo / ".git" / "hooks" / "pre-push").read_text()
    assert keysweep("install-hook", "--pre-push", "--force", cwd=repo).code == 0
    assert "--pre-push" in (repo / ".git" / "hooks" / "pre-push").read_text()
