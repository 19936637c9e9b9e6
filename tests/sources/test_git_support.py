"""Helpers for the git source tests: real repositories built with git in tmp_path (no tests here)."""

from __future__ import annotations

import functools
import os
import subprocess
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from scanner.detect import Detector
from scanner.engine import Engine
from scanner.model import Blob, Finding, Skipped
from scanner.rules import load_builtin_rules
from scanner.sources.interface import Limits, Source

KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
SECRET = "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"
AWS_TEXT = f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"


def clean_environment() -> dict[str, str]:
    """Our own git commands in tests: no user or system configuration, fixed identity."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    environment.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_AUTHOR_NAME="Alice Author",
        GIT_AUTHOR_EMAIL="alice@example.test",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@t",
    )
    return environment


def git(cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env=env or clean_environment(),
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8", "replace").strip()


class Repo:
    """A test repository with a commit clock (one minute per commit, so ordering is deterministic)."""

    def __init__(self, path: Path, *, bare: bool = False) -> None:
        self.path = path
        self.clock = 1_700_000_000
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", *(["--bare"] if bare else []))

    def git(self, *args: str, input: bytes | None = None) -> str:
        self.clock += 60
        environment = clean_environment()
        environment["GIT_AUTHOR_DATE"] = environment["GIT_COMMITTER_DATE"] = f"@{self.clock} +0000"
        return git(self.path, *args, input=input, env=environment)

    def write(self, name: str, content: str | bytes) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)
        return target

    def commit(self, message: str, **files: str | bytes) -> str:
        for name, content in files.items():
            self.write(name.replace("__", "/"), content)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def blob_id(self, content: str | bytes) -> str:
        data = content.encode() if isinstance(content, str) else content
        return self.git("hash-object", "--stdin", input=data)


def read_everything(source: Source, limits: Limits | None = None) -> tuple[list[Blob], list[Skipped]]:
    limits = limits or Limits()
    blobs: list[Blob] = []
    skipped: list[Skipped] = []
    for item in source.plan(limits):
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        for read in item.read(limits):
            if isinstance(read, Skipped):
                skipped.append(read)
            else:
                blobs.append(read)
    return blobs, skipped


def by_blob_id(blobs: Iterable[Blob]) -> dict[str, Blob]:
    found: dict[str, Blob] = {}
    for blob in blobs:
        assert blob.location.blob_id is not None
        found[blob.location.blob_id] = blob
    return found


def read_counts(blobs: Iterable[Blob]) -> Counter[str]:
    return Counter(blob.location.blob_id for blob in blobs if blob.first_line == 1 and blob.first_column == 1)


@functools.cache
def detector() -> Detector:
    """The built-in AWS rules (with the key pairing): what these tests plant. Compiling every built-in
    rule takes long enough to dominate these tests, and their matching is not what is tested here."""
    return Detector(Engine([rule for rule in load_builtin_rules() if rule.id.startswith("aws-")]))


def findings_in(blobs: Iterable[Blob]) -> list[Finding]:
    return [finding for blob in blobs for finding in detector().findings(blob)]
