"""`keysweep scan REPO` on real git repositories: history, provenance, ranges, incremental rescans."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import Keysweep

KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
SECRET = "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"
TOKEN = "ghp_R8m2Kq7ZtX4vN1pL6sW9yB3cD5fH0jG2aE7u"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Alice", "-c", "user.email=alice@example.org", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def commit(repo: Path, message: str, **files: str | None) -> str:
    for name, content in files.items():
        path = repo / name.replace("__", "/")
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def leaky_repo(root: Path) -> tuple[Path, str]:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "initial", **{"app.py": "print('hello')\n"})
    leak = commit(
        repo,
        "add deploy credentials",
        **{"deploy.env": f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"},
    )
    commit(repo, "remove credentials", **{"deploy.env": None})
    return repo, leak


def scan_json(keysweep: Keysweep, *args: str | Path) -> tuple[int, dict]:
    run = keysweep("scan", *args, "-q", "-f", "json")
    assert run.code in (0, 1), run.stderr
    return run.code, json.loads(run.stdout)


def test_a_deleted_secret_is_found_with_the_commit_that_added_it(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, leak = leaky_repo(tmp_path)
    code, document = scan_json(keysweep, repo)
    assert code == 1
    (finding,) = [f for f in document["findings"] if f["key_id"] == KEY_ID]
    assert finding["source"] == "git" and finding["secret_found"] is True and finding["path"] == "deploy.env"
    provenance = finding["provenance"]
    assert provenance["status"] == "only-in-history"
    assert provenance["first"]["commit"] == leak
    assert provenance["first"]["summary"] == "add deploy credentials"
    assert provenance["first"]["author"] == "Alice <alice@example.org>"
    text = keysweep("scan", repo, "-q", "--full").stdout
    assert f"entered in {leak[:12]}" in text and "only in history" in text


def test_no_history_scans_only_the_working_tree(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, _ = leaky_repo(tmp_path)
    code, document = scan_json(keysweep, repo, "--no-history")
    assert code == 0 and document["findings"] == []


def test_uncommitted_files_are_scanned_too(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, _ = leaky_repo(tmp_path)
    (repo / "notes.txt").write_text(f"token {TOKEN}\n")
    _, document = scan_json(keysweep, repo)
    sources = {(f["source"], f["path"]) for f in document["findings"]}
    assert ("file", "notes.txt") in sources and ("git", "deploy.env") in sources


def test_range_and_since_scan_only_what_those_commits_introduced(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, leak = leaky_repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature")
    change = commit(repo, "add token", **{"ci.yml": f"token: {TOKEN}\n"})
    code, document = scan_json(keysweep, repo, "--range", f"{base}..feature")
    assert code == 1
    assert [(f["rule_id"], f["commit"]) for f in document["findings"]] == [
        ("github-personal-access-token", change)
    ]
    code, document = scan_json(keysweep, repo, "--since", base)
    assert code == 1 and [f["path"] for f in document["findings"]] == ["ci.yml"]
    code, document = scan_json(keysweep, repo, "--range", f"{leak}~1..{leak}")
    assert code == 1 and [f["key_id"] for f in document["findings"]] == [KEY_ID]


def test_a_bad_range_is_a_usage_error(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, _ = leaky_repo(tmp_path)
    run = keysweep("scan", repo, "-q", "--range", "nosuchref..HEAD")
    assert run.code == 2 and "nosuchref" in run.stderr and "Traceback" not in run.stderr
    run = keysweep("scan", repo, "-q", "--range", "--upload-pack=touch /tmp/pwned..HEAD")
    assert run.code == 2
    plain = tmp_path / "plain"
    plain.mkdir()
    assert keysweep("scan", plain, "-q", "--since", "HEAD").code == 2


def test_rescans_read_only_new_objects_and_still_fail_on_known_leaks(
    tmp_path: Path, keysweep: Keysweep
) -> None:
    repo, _ = leaky_repo(tmp_path)
    code, first = scan_json(keysweep, repo)
    assert code == 1 and first["scan"]["blobs"] >= 2
    commit(repo, "more code", **{"lib.py": "x = 1\n"})
    code, second = scan_json(keysweep, repo)
    assert code == 1, "a known leak in history must still fail the scan"
    assert second["scan"]["blobs"] == 1  # only the new blob was read
    assert any("already scanned" in note for note in second["scan"]["notes"])
    assert any("still leaked" in note for note in second["scan"]["notes"])
    code, full = scan_json(keysweep, repo, "--full")
    assert code == 1 and full["scan"]["blobs"] >= 3 and full["findings"]


def test_a_bare_mirror_is_scanned(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, _ = leaky_repo(tmp_path)
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(repo), str(mirror)], check=True)
    code, document = scan_json(keysweep, mirror)
    assert code == 1 and [f["key_id"] for f in document["findings"]] == [KEY_ID]


def test_a_hostile_repository_configuration_never_runs(tmp_path: Path, keysweep: Keysweep) -> None:
    repo, _ = leaky_repo(tmp_path)
    marker = tmp_path / "pwned"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    script.chmod(0o755)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / hook).chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(script))
    git(repo, "config", "core.hooksPath", str(hooks))
    git(repo, "config", "filter.evil.clean", str(script))
    git(repo, "config", "filter.evil.smudge", str(script))
    git(repo, "config", "diff.external", str(script))
    git(repo, "config", "diff.evil.textconv", str(script))
    (repo / ".gitattributes").write_text("* filter=evil diff=evil\n")
    (repo / "dirty.txt").write_text("uncommitted\n")
    code, _ = scan_json(keysweep, repo)
    assert code == 1
    assert not marker.exists(), "keysweep ran code from the scanned repository"


def test_a_secret_allowed_where_it_entered_still_entered_there(tmp_path: Path, keysweep: Keysweep) -> None:
    """Suppressed findings are traced only for --show-suppressed, except where they say where a
    reported secret entered: a key first committed in an allowlisted fixture, then copied into the
    code, entered with the fixture."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    pair = f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"
    commit(repo, "config", **{".keysweep.toml": "[[allowlists]]\npaths = ['^fixtures/']\n"})
    entered = commit(repo, "fixture", **{"fixtures__keys.env": pair})
    commit(repo, "copy", **{"deploy.env": "# copied\n" + pair})
    for extra in ((), ("--show-suppressed",)):
        _, document = scan_json(keysweep, repo, "--full", *extra)
        (finding,) = [f for f in document["findings"] if f["key_id"] == KEY_ID and f["source"] == "git"]
        assert finding["path"] == "deploy.env" and finding["provenance"]["first"]["commit"] == entered
        suppressed = [f for f in document.get("suppressed", []) if f["source"] == "git"]
        assert bool(extra) == bool(suppressed)
        assert all("provenance" in f for f in suppressed)
