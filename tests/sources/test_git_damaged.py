"""Imperfect repositories: missing objects, corrupt packs, broken history, partial and shallow clones."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from test_git_support import AWS_TEXT, Repo, by_blob_id, findings_in, git, read_everything

from scanner.model import SkipReason
from scanner.sources.git import GitHistorySource, packed
from scanner.sources.git.objects import MISSING_PREFIX, UNKNOWN_PREFIX
from scanner.sources.git.safety import GitFailed
from scanner.sources.interface import SourceError


def loose_object(repo: Repo, oid: str) -> Path:
    return repo.path / ".git" / "objects" / oid[:2] / oid[2:]


def test_a_missing_loose_blob_is_skipped_with_its_oid_and_the_rest_is_read(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("one", **{"keys.ini": AWS_TEXT, "lost.txt": "this blob will be lost\n", "c.txt": "c\n"})
    lost = repo.blob_id("this blob will be lost\n")
    loose_object(repo, lost).unlink()

    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert [(s.reason, s.location.blob_id, s.location.path) for s in skipped] == [
        (SkipReason.MISSING_OBJECT, lost, f"{MISSING_PREFIX}{lost}")
    ]
    assert "missing from the object database" in skipped[0].detail
    assert sorted(blob.data for blob in blobs) == [AWS_TEXT.encode(), b"c\n"]
    assert len(findings_in(blobs)) == 1


@pytest.mark.parametrize("reader", ["cat-file", "pack-reader"])
def test_a_corrupt_packed_blob_is_reported_and_the_blobs_after_it_are_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    if reader == "pack-reader":  # it finds the damage itself, then git's reader says what it is
        monkeypatch.setattr(packed, "PACK_READER_MIN_BLOBS", 0)
    repo = Repo(tmp_path / "r")
    contents = {f"f{number}.bin": os.urandom(30_000).hex() + "\n" for number in range(3)}
    contents["keys.ini"] = AWS_TEXT
    repo.commit("random", **contents)
    repo.git("gc", "-q")
    [index] = (repo.path / ".git" / "objects" / "pack").glob("*.idx")
    listing = repo.git("verify-pack", "-v", str(index))
    offsets = {}
    for line in listing.splitlines():
        match = re.match(r"([0-9a-f]{40}) blob\s+(\d+) (\d+) (\d+)", line)
        if match:
            offsets[match.group(1)] = (int(match.group(4)), int(match.group(3)))
    ids = {repo.blob_id(content): name for name, content in contents.items()}
    in_pack_order = sorted((offset, oid) for oid, (offset, _) in offsets.items())
    middle = in_pack_order[1][1]
    offset, packed_size = offsets[middle]
    pack = index.with_suffix(".pack")
    pack.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with pack.open("r+b") as handle:
        handle.seek(offset + packed_size // 2)
        handle.write(b"\xff" * 16)

    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert [(s.reason, s.location.blob_id, s.location.path) for s in skipped] == [
        (SkipReason.UNREADABLE, middle, ids[middle])
    ]
    assert "corrupt" in skipped[0].detail
    assert {blob.location.blob_id for blob in blobs} == set(ids) - {middle}
    assert len(findings_in(blobs)) == (0 if ids[middle] == "keys.ini" else 1)


def test_a_broken_history_walk_is_reported_and_every_present_blob_is_still_read(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    first = repo.commit("one", **{"keys.ini": AWS_TEXT})
    repo.commit("two", **{"b.txt": "b\n"})
    loose_object(repo, first).unlink()  # the parent commit is gone: rev-list cannot walk past it

    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert [s.reason for s in skipped] == [SkipReason.UNREADABLE]
    assert "walking the history failed" in skipped[0].detail and first[:7] in skipped[0].detail
    found = findings_in(blobs)
    assert len(found) == 1 and found[0].secret_found
    assert found[0].location.path in ("keys.ini", f"{UNKNOWN_PREFIX}{repo.blob_id(AWS_TEXT)}")


@pytest.fixture
def served(tmp_path: Path) -> Repo:
    """A repository with three commits that allows partial and shallow clones over file://."""
    repo = Repo(tmp_path / "served")
    repo.commit("one", **{"keys.ini": AWS_TEXT, "a.txt": "a1\n"})
    repo.commit("two", **{"a.txt": "a2\n"})
    (repo.path / "keys.ini").unlink()
    repo.commit("three", **{"a.txt": "a3\n"})
    repo.git("config", "uploadpack.allowFilter", "true")
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true")
    return repo


def test_a_partial_clone_reports_what_was_never_downloaded_and_never_fetches_it(
    served: Repo, tmp_path: Path
) -> None:
    clone = tmp_path / "partial"
    url = f"file://{served.path}"
    git(tmp_path, "-c", "protocol.file.allow=always", "clone", "-q", "--filter=blob:none", url, str(clone))
    marker = tmp_path / "lazy-fetch-ran"
    script = tmp_path / "upload-pack.sh"
    script.write_text(f'#!/bin/sh\ntouch {marker}\nexec git-upload-pack "$@"\n')
    script.chmod(0o755)
    git(clone, "config", "remote.origin.uploadpack", str(script))
    missing = served.blob_id(AWS_TEXT)

    source = GitHistorySource(clone)
    assert source.repository.partial
    blobs, skipped = read_everything(source)
    assert [blob.data for blob in blobs] == [b"a3\n"]
    assert {s.location.blob_id for s in skipped} == {missing, served.blob_id("a1\n"), served.blob_id("a2\n")}
    assert all(s.reason is SkipReason.MISSING_OBJECT and "partial clone" in s.detail for s in skipped)
    with pytest.raises(GitFailed):
        source.repository.git.run("cat-file", "-p", missing)  # a lazy fetch is refused, not attempted
    source.provenance([blob.location for blob in blobs])
    assert not marker.exists()

    # the same repository does fetch lazily (and runs the configured upload-pack) for plain git
    git(clone, "-c", "protocol.file.allow=always", "cat-file", "-p", missing)
    assert marker.exists()


def test_a_shallow_clone_is_noted_and_its_available_history_read(served: Repo, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(
        tmp_path,
        "-c",
        "protocol.file.allow=always",
        "clone",
        "-q",
        "--depth=2",
        f"file://{served.path}",
        str(clone),
    )
    source = GitHistorySource(clone)
    assert source.repository.shallow
    blobs, skipped = read_everything(source)
    assert [s.reason for s in skipped] == [SkipReason.SHALLOW_HISTORY]
    boundary = git(clone, "rev-parse", "HEAD~1")
    assert boundary[:12] in skipped[0].detail and "--unshallow" in skipped[0].detail
    assert sorted(blob.data for blob in blobs) == [AWS_TEXT.encode(), b"a2\n", b"a3\n"]
    assert by_blob_id(blobs)[served.blob_id(AWS_TEXT)].location.path == "keys.ini"

    first = served.git("rev-list", "--max-parents=0", "HEAD")
    with pytest.raises(SourceError, match="shallow clone"):
        GitHistorySource(clone, range=f"{first}..HEAD")


def test_provenance_over_a_broken_history_keeps_what_it_read(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    first = repo.commit("one", **{"a.txt": "a\n"})
    repo.commit("two", **{"b.txt": "b\n"})
    added = repo.commit("three", **{"keys.ini": AWS_TEXT})
    repo.commit("four", **{"c.txt": "c\n"})
    loose_object(repo, first).unlink()  # git log dies when it reaches "two": what came after is kept
    source = GitHistorySource(repo.path)
    blobs, _ = read_everything(source)
    [finding] = findings_in(blobs)
    provenance = source.provenance([finding.location])[(str(repo.path), repo.blob_id(AWS_TEXT))]
    assert provenance.first is not None and provenance.first.commit == added
    assert len(source.provenance_problems) == 1 and "failed part-way" in source.provenance_problems[0]
