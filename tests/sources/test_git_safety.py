"""Nothing from the scanned repository runs: hooks, fsmonitor, filters, diff drivers, gpg, pagers, helpers.
Arguments that git would read as options, and remote URLs, are refused."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import pytest
from test_git_support import AWS_TEXT, Repo, clean_environment, findings_in, read_everything

from scanner.sources.git import GitHistorySource
from scanner.sources.git.objects import RangeSpec, introduced_in
from scanner.sources.git.repository import list_refs
from scanner.sources.git.safety import SAFE_CONFIG, Git, GitFailed, git_environment
from scanner.sources.interface import SourceError

HOOKS = (
    "pre-commit",
    "post-commit",
    "post-checkout",
    "post-merge",
    "post-index-change",
    "reference-transaction",
    "pre-auto-gc",
    "post-rewrite",
    "fsmonitor-watchman",
    "pre-push",
)


def trap(directory: Path, name: str, markers: Path, passthrough: bool = False) -> Path:
    script = directory / f"{name}.sh"
    body = f"#!/bin/sh\ntouch '{markers / name}'\n" + ("cat\n" if passthrough else "exit 0\n")
    script.write_text(body)
    script.chmod(0o755)
    return script


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Repo, Path]:
    """A repository whose configuration tries every way to run code, with files that trigger it."""
    repo = Repo(tmp_path / "hostile")
    markers = tmp_path / "markers"
    markers.mkdir()
    traps = tmp_path / "traps"
    traps.mkdir()
    repo.commit(
        "files",
        **{
            ".gitattributes": "* filter=evil diff=evil\n*.env filter=second\n",
            "keys.env": AWS_TEXT,
            "a.txt": "a\n",
        },
    )
    repo.commit("more", **{"a.txt": "a2\n"})
    tree = repo.git("rev-parse", "HEAD^{tree}")
    signed = (
        f"tree {tree}\nparent {repo.head()}\n"
        "author A <a@a> 1700000000 +0000\ncommitter A <a@a> 1700000000 +0000\n"
        "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEEnotarealsignature\n"
        " -----END PGP SIGNATURE-----\n\nsigned commit\n"
    )
    commit = repo.git("hash-object", "-t", "commit", "-w", "--stdin", input=signed.encode())
    repo.git("update-ref", "refs/heads/main", commit)

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in HOOKS:
        trap(hooks, f"hook-{name}", markers).rename(hooks / name)
        trap(hooks, f"dothook-{name}", markers).rename(repo.path / ".git" / "hooks" / name)
    extra = tmp_path / "extra.config"
    extra.write_text(f'[filter "second"]\n\tclean = {trap(traps, "filter-second-clean", markers, True)}\n')
    settings = {
        "core.fsmonitor": trap(traps, "fsmonitor", markers),
        "core.hooksPath": hooks,
        "filter.evil.clean": trap(traps, "filter-clean", markers, True),
        "filter.evil.smudge": trap(traps, "filter-smudge", markers, True),
        "filter.evil.process": trap(traps, "filter-process", markers),
        "filter.evil.required": "true",
        "diff.external": trap(traps, "diff-external", markers),
        "diff.evil.textconv": trap(traps, "textconv", markers, True),
        "diff.evil.command": trap(traps, "diff-command", markers),
        "core.pager": trap(traps, "pager", markers, True),
        "pager.log": trap(traps, "pager-log", markers, True),
        "log.showSignature": "true",
        "gpg.program": trap(traps, "gpg", markers),
        "core.sshCommand": trap(traps, "ssh", markers),
        "credential.helper": trap(traps, "credential", markers),
        "core.askPass": trap(traps, "askpass", markers),
        "color.ui": "always",
        "log.showRoot": "false",
        "diff.renames": "copies",
        "status.showUntrackedFiles": "no",
        "protocol.file.allow": "always",
        "include.path": extra,
    }
    for key, value in settings.items():
        repo.git("config", key, str(value))
    # a stat-dirty file (same content, new mtime: status compares contents through the clean filter),
    # a modified file and an untracked one
    later = time.time() + 5
    os.utime(repo.path / "keys.env", (later, later))
    (repo.path / "a.txt").write_text("changed\n")
    (repo.path / "new.env").write_text("untracked\n")
    return repo, markers


def test_the_hostile_repository_does_run_code_under_plain_git(hostile: tuple[Repo, Path]) -> None:
    """The control: these traps do fire when git runs with the repository's own configuration."""
    repo, markers = hostile
    environment = clean_environment()
    subprocess.run(["git", "status"], cwd=repo.path, env=environment, capture_output=True, check=False)
    subprocess.run(["git", "log", "-1"], cwd=repo.path, env=environment, capture_output=True, check=False)
    fired = {marker.name for marker in markers.iterdir()}
    assert {"fsmonitor", "gpg"} <= fired
    assert fired & {"filter-clean", "filter-process", "filter-second-clean"}

    # the fixed -c settings alone are not enough: the filter drivers must be emptied too
    for marker in markers.iterdir():
        marker.unlink()
    repository = GitHistorySource(repo.path).repository
    assert ("filter.second.clean", "") in repository.git.overrides
    with contextlib.suppress(GitFailed):
        Git(repository.git_dir, repository.work_tree).run("status", "--porcelain=v1")
    filters = {"filter-clean", "filter-process", "filter-second-clean"}
    assert {marker.name for marker in markers.iterdir()} & filters


def test_enumeration_reading_provenance_and_worktree_listing_run_nothing(hostile: tuple[Repo, Path]) -> None:
    repo, markers = hostile
    source = GitHistorySource(repo.path)
    blobs, skipped = read_everything(source)
    assert skipped == []
    found = findings_in(blobs)
    assert len(found) == 1 and found[0].secret_found
    traced = source.provenance([blob.location for blob in blobs])
    assert all(provenance.first is not None for provenance in traced.values())
    [(_, changes)] = source.working_tree_files(include_ignored=True)
    assert changes == [repo.path / "a.txt", repo.path / "new.env"]
    list_refs(source.repository)
    list(introduced_in(source.repository, RangeSpec.parse("HEAD~2..HEAD")).blobs)
    assert sorted(marker.name for marker in markers.iterdir()) == []


def test_replace_refs_cannot_hide_a_blob(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("add", **{"keys.ini": AWS_TEXT})
    harmless = repo.git("hash-object", "-w", "--stdin", input=b"nothing to see\n")
    repo.git("replace", repo.blob_id(AWS_TEXT), harmless)
    blobs, _ = read_everything(GitHistorySource(repo.path))
    assert len(findings_in(blobs)) == 1


def test_the_environment_starts_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = Repo(tmp_path / "other")
    other.commit("other", **{"other.txt": "other\n"})
    repo = Repo(tmp_path / "r")
    repo.commit("add", **{"mine.txt": "mine\n"})
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", "touch /nonexistent/x")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.fsmonitor'='touch /nonexistent/y'")
    environment = git_environment()
    assert not {"GIT_DIR", "GIT_EXTERNAL_DIFF", "GIT_CONFIG_PARAMETERS"} & set(environment)
    assert environment["GIT_CONFIG_GLOBAL"] == "/dev/null" and environment["GIT_TERMINAL_PROMPT"] == "0"
    blobs, _ = read_everything(GitHistorySource(repo.path))
    assert [blob.data for blob in blobs] == [b"mine\n"]
    keys = [key for key, _ in SAFE_CONFIG]
    assert "core.hooksPath" in keys and "protocol.allow" in keys and "safe.directory" in keys


@pytest.mark.parametrize(
    "path, message",
    [
        ("--upload-pack=touch /tmp/pwned", "option"),
        ("-x", "option"),
        ("", "empty"),
        ("https://github.com/example/repo.git", "remote URL"),
        ("git@github.com:example/repo.git", "remote URL"),
        ("ext::sh -c touch% /tmp/pwned", "remote URL"),
        ("ssh://host/repo", "remote URL"),
        ("./does-not-exist", "does not exist"),
    ],
)
def test_option_like_paths_and_urls_are_refused(path: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        GitHistorySource(path)


@pytest.mark.parametrize(
    "option, value",
    [
        ("range", "--upload-pack=touch /tmp/pwned"),
        ("range", "-x"),
        ("range", "HEAD..--output=/tmp/x"),
        ("range", "--all..HEAD"),
        ("since", "--output=/tmp/x"),
        ("since", "-x"),
        ("range", "HEAD\n..HEAD"),
    ],
)
def test_option_like_ranges_are_refused(tmp_path: Path, option: str, value: str) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("one", **{"a.txt": "a\n"})
    with pytest.raises(SourceError, match=r"option|control character"):
        GitHistorySource(repo.path, **{option: value})  # type: ignore[arg-type]


def test_a_repository_owned_by_another_user_is_scanned(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the repository to another user")
    repo = Repo(tmp_path / "r")
    repo.commit("one", **{"keys.ini": AWS_TEXT})
    for root, directories, files in os.walk(repo.path):
        for name in directories + files:
            os.lchown(os.path.join(root, name), 65534, 65534)
    os.lchown(repo.path, 65534, 65534)
    plain = subprocess.run(
        ["git", "status"], cwd=repo.path, env=clean_environment(), capture_output=True, check=False
    )
    assert b"dubious ownership" in plain.stderr
    blobs, _ = read_everything(GitHistorySource(repo.path))
    assert len(findings_in(blobs)) == 1
