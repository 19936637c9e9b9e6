"""The git history source on healthy repositories: what is enumerated, how it is read, where it came from."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from test_git_support import (
    AWS_TEXT,
    KEY_ID,
    Repo,
    by_blob_id,
    detector,
    findings_in,
    git,
    read_counts,
    read_everything,
)

from scanner.model import Blob, SkipReason, SourceKind
from scanner.sources.git import GitHistorySource, combine
from scanner.sources.git.objects import UNREACHABLE_PREFIX
from scanner.sources.git.units import GitBlobBatch, batch_units
from scanner.sources.interface import CHUNK_SIZE, Limits


def test_a_deleted_secret_is_read_and_its_provenance_is_the_commit_that_added_it(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("readme", **{"README.md": "hello\n"})
    added = repo.commit("add credentials", **{"config__aws.ini": AWS_TEXT})
    (repo.path / "config" / "aws.ini").unlink()
    repo.commit("remove credentials")

    source = GitHistorySource(repo.path)
    blobs, skipped = read_everything(source)
    assert skipped == []
    found = findings_in(blobs)
    assert [(f.key_id, f.secret_found, f.location.path) for f in found] == [(KEY_ID, True, "config/aws.ini")]
    location = found[0].location
    assert location.source is SourceKind.GIT and location.origin == str(repo.path)
    assert location.blob_id == repo.blob_id(AWS_TEXT) and location.commit is None

    provenance = source.provenance([location])[(str(repo.path), location.blob_id)]
    assert provenance.first is not None
    assert (provenance.first.commit, provenance.first.path) == (added, "config/aws.ini")
    assert provenance.first.summary == "add credentials"
    assert provenance.first.author == "Alice Author <alice@example.test>"
    assert provenance.first.date.startswith("2023-11-14T")
    assert provenance.later == () and not provenance.at_head and provenance.reachable
    secret = combine([provenance])
    assert secret.only_in_history and not secret.only_unreachable


def test_blobs_on_a_side_branch_a_tag_stashes_and_notes_are_all_read(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("base", **{"app.py": "print('hi')\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("on side", **{"side.txt": "side branch content\n"})
    repo.git("checkout", "-q", "-b", "to-tag")
    repo.commit("tagged", **{"tagged.txt": "only reachable from a tag\n"})
    repo.git("tag", "-a", "-m", "release", "v1")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-D", "to-tag")
    repo.write("app.py", "print('stashed once')\n")
    repo.git("stash", "-q")
    repo.write("app.py", "print('stashed twice')\n")
    repo.write("untracked.txt", "untracked but stashed\n")
    repo.git("stash", "-q", "-u")
    repo.git("notes", "add", "-m", "a note with content", "HEAD")

    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert skipped == []
    contents = {blob.data: blob.location.path for blob in blobs}
    assert contents[b"side branch content\n"] == "side.txt"
    assert contents[b"only reachable from a tag\n"] == "tagged.txt"
    assert contents[b"print('stashed once')\n"] == "app.py"  # older stash: only in the stash reflog
    assert contents[b"print('stashed twice')\n"] == "app.py"
    assert contents[b"untracked but stashed\n"] == "untracked.txt"
    assert b"a note with content\n" in contents
    assert not any(path.startswith(UNREACHABLE_PREFIX) for path in contents.values())


def test_an_unreachable_commit_and_a_dangling_blob_are_read_and_marked_unreachable(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("base", **{"a.txt": "a\n"})
    blob = repo.git("hash-object", "-w", "--stdin", input=AWS_TEXT.encode())
    tree = repo.git("mktree", input=f"100644 blob {blob}\tleaked.ini\n".encode())
    dropped = repo.git("commit-tree", tree, "-p", "HEAD", "-m", "oops, dropped later")
    loose = repo.git("hash-object", "-w", "--stdin", input=b"written, never committed\n")

    source = GitHistorySource(repo.path)
    blobs, _ = read_everything(source)
    read = by_blob_id(blobs)
    assert read[blob].location.path == f"{UNREACHABLE_PREFIX}{blob}"
    assert read[loose].location.path == f"{UNREACHABLE_PREFIX}{loose}"
    found = findings_in([read[blob]])
    assert len(found) == 1 and found[0].secret_found

    traced = source.provenance([read[blob].location, read[loose].location])
    leaked = traced[(str(repo.path), blob)]
    assert not leaked.reachable and not leaked.at_head
    assert leaked.first is not None and (leaked.first.commit, leaked.first.path) == (dropped, "leaked.ini")
    assert combine([leaked]).only_unreachable
    never = traced[(str(repo.path), loose)]
    assert never.first is None and not never.reachable

    without = GitHistorySource(repo.path, include_unreachable=False)
    blobs, _ = read_everything(without)
    assert blob not in by_blob_id(blobs) and loose not in by_blob_id(blobs)
    assert without.description.endswith("(all refs)")


def test_a_renamed_file_is_one_blob_with_a_sighting_under_each_path(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    first = repo.commit("add", **{"old.env": AWS_TEXT})
    repo.git("mv", "old.env", "new.env")
    second = repo.commit("rename")

    source = GitHistorySource(repo.path)
    blobs, _ = read_everything(source)
    assert read_counts(blobs)[repo.blob_id(AWS_TEXT)] == 1
    location = findings_in(blobs)[0].location
    provenance = source.provenance([location])[(str(repo.path), location.blob_id)]
    sightings = [(s.commit, s.path) for s in provenance.sightings]
    assert sightings == [(first, "old.env"), (second, "new.env")]
    assert provenance.at_head


def test_merges_attribute_content_to_the_branch_commit_unless_the_merge_introduced_it(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("base", **{"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "feature")
    feature = repo.commit("feature adds key", **{"feature.env": AWS_TEXT})
    repo.git("checkout", "-q", "main")
    repo.commit("main moves", **{"b.txt": "b\n"})
    repo.git("merge", "-q", "--no-ff", "--no-commit", "feature")
    evil = "token = AKIAZ2X7QK4MNB5RT6UW\n"
    repo.write("merge-only.txt", evil)
    repo.git("add", "merge-only.txt")
    repo.git("commit", "-q", "-m", "merge feature")
    merge = repo.head()

    source = GitHistorySource(repo.path)
    blobs, _ = read_everything(source)
    traced = source.provenance([blob.location for blob in blobs])
    branch_blob = traced[(str(repo.path), repo.blob_id(AWS_TEXT))]
    assert [s.commit for s in branch_blob.sightings] == [feature]
    merge_blob = traced[(str(repo.path), repo.blob_id(evil))]
    assert [(s.commit, s.path) for s in merge_blob.sightings] == [(merge, "merge-only.txt")]


def test_each_unique_blob_is_read_exactly_once_even_when_in_a_hundred_commits(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    stream = []
    for number in range(100):
        stream.append(
            f"commit refs/heads/main\ncommitter t <t@t> {1_700_000_000 + number} +0000\ndata 2\nc\n"
            f"M 100644 inline keys.ini\ndata {len(AWS_TEXT)}\n{AWS_TEXT}\n"
            f"M 100644 inline counter.txt\ndata {len(str(number)) + 1}\n{number}\n\n"
        )
    repo.git("fast-import", "--quiet", input="".join(stream).encode())
    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert skipped == []
    counts = read_counts(blobs)
    assert counts[repo.blob_id(AWS_TEXT)] == 1
    assert len(counts) == 101 and set(counts.values()) == {1}
    assert len(findings_in(blobs)) == 1


def test_a_huge_blob_is_read_in_chunks_and_a_key_across_the_boundary_is_found_whole(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    filler_line = b"x" * 99 + b"\n"
    head = filler_line * ((CHUNK_SIZE - 30) // 100)
    head += b"y" * (CHUNK_SIZE - 30 - len(head))  # a long last line: the key id straddles the boundary
    key = f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = 9fJ2kLmN4pQrS7tUvWxYz0A1bC3dE5fG6hI8jK/+\n"
    data = head + key.encode() + filler_line * 10_000
    assert len(head) + 20 < CHUNK_SIZE < len(head) + 40 and len(data) > 9_000_000
    repo.commit("big", **{"big.txt": data})

    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert skipped == []
    chunks = [blob for blob in blobs if blob.location.path == "big.txt"]
    assert len(chunks) == 2 and all(len(chunk.data) <= CHUNK_SIZE + 8192 for chunk in chunks)
    found = findings_in(chunks)
    assert len(found) == 1 and found[0].secret_found and found[0].key_id == KEY_ID
    assert found[0].line == head.count(b"\n") + 1

    small = Limits(max_file_size=1_000_000)
    blobs, skipped = read_everything(GitHistorySource(repo.path), small)
    assert [s.reason for s in skipped] == [SkipReason.TOO_LARGE] and skipped[0].location.path == "big.txt"


def test_an_lfs_pointer_is_reported_not_scanned(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n"
    )
    repo.commit("lfs", **{"model.bin": pointer})
    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert blobs == []
    assert [(s.reason, s.location.path) for s in skipped] == [(SkipReason.LFS_POINTER, "model.bin")]
    assert "sha256:4d7a2146" in skipped[0].detail and "12345 bytes" in skipped[0].detail
    assert "LFS store" in skipped[0].detail


def test_bare_repositories_and_mirrors(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("add", **{"keys.ini": AWS_TEXT})
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--mirror", str(repo.path), str(mirror))
    source = GitHistorySource(mirror)
    assert source.repository.bare and source.repository.work_tree is None
    blobs, _ = read_everything(source)
    assert len(findings_in(blobs)) == 1
    location = findings_in(blobs)[0].location
    assert source.provenance([location])[(str(mirror), location.blob_id)].at_head
    assert source.working_tree_files() == []


def test_units_are_small_picklable_and_balanced_by_bytes(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    files = {f"f{number}.txt": f"{number}\n".encode() * (2000 + number) for number in range(40)}
    repo.commit("many", **files)  # type: ignore[arg-type]
    source = GitHistorySource(repo.path)
    units = [unit for unit in source.plan(Limits()) if isinstance(unit, GitBlobBatch)]
    assert len(units) == 1
    inventory = source.inventories[source.repository.key]
    small_units = list(batch_units(source.repository.git, "o", inventory.blobs, unit_bytes=50_000))
    assert len(small_units) > 4 and sum(unit.count for unit in small_units) == 40
    assert all(unit.size <= 50_000 or unit.count == 1 for unit in small_units)
    clone = pickle.loads(pickle.dumps(small_units[0]))
    assert [blob for blob in clone.read(Limits()) if isinstance(blob, Blob)]
    assert len(pickle.dumps(small_units[0])) < 2000
    failed = small_units[0].failed("worker died")
    assert len(failed) == small_units[0].count and failed[0].reason is SkipReason.ERROR


def test_incremental_scans_exclude_what_was_already_scanned(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("one", **{"a.txt": "a\n", "empty.txt": ""})
    first = GitHistorySource(repo.path)
    read_everything(first)
    key = first.repository.key
    assert first.planned_oids[key] == {repo.blob_id("a\n"), repo.blob_id("")}

    repo.commit("two", **{"b.txt": "b\n"})
    second = GitHistorySource(repo.path, exclude_oids={key: first.planned_oids[key]})
    assert second.repository.key == key
    blobs, _ = read_everything(second)
    assert [blob.data for blob in blobs] == [b"b\n"]
    assert second.planned_oids[key] == {repo.blob_id("b\n")}
    assert GitHistorySource(repo.path / ".git").repository.key == key


def test_working_tree_changes_list_modified_and_untracked_files(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit(
        "one", **{"kept.txt": "k\n", "changed.txt": "c\n", "gone.txt": "g\n", ".gitignore": "*.log\n"}
    )
    repo.write("changed.txt", "c2\n")
    repo.write("new/dir/untracked.env", AWS_TEXT)
    repo.write("debug.log", "ignored\n")
    (repo.path / "gone.txt").unlink()
    source = GitHistorySource(repo.path)
    [(repository, paths)] = source.working_tree_files()
    assert repository is source.repository
    assert paths == [repo.path / "changed.txt", repo.path / "new/dir/untracked.env"]
    [(_, with_ignored)] = source.working_tree_files(include_ignored=True)
    assert repo.path / "debug.log" in with_ignored


def test_submodules_are_scanned_as_their_own_repositories(tmp_path: Path) -> None:
    library = Repo(tmp_path / "lib")
    library.commit("lib", **{"lib.ini": AWS_TEXT})
    app = Repo(tmp_path / "app")
    app.commit("app", **{"main.py": "print(1)\n"})
    app.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library.path), "vendor/lib")
    app.commit("add submodule")

    source = GitHistorySource(app.path, origin="app")
    assert [repository.origin for repository in source.repositories] == ["app", "app/vendor/lib"]
    assert "1 submodule" in source.description
    blobs, _ = read_everything(source)
    [finding] = findings_in(blobs)
    assert (finding.location.origin, finding.location.path) == ("app/vendor/lib", "lib.ini")
    traced = source.provenance([finding.location])
    assert traced[("app/vendor/lib", finding.location.blob_id)].at_head
    assert len(source.planned_oids) == 2
    assert GitHistorySource(app.path, origin="app", submodules=False).repositories == [source.repository]


def test_no_history_plans_nothing(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("one", **{"a.txt": "a\n"})
    source = GitHistorySource(repo.path, history=False)
    assert list(source.plan(Limits())) == [] and "working tree only" in source.description


def test_not_a_repository(tmp_path: Path) -> None:
    from scanner.sources.interface import SourceError

    (tmp_path / "plain").mkdir()
    with pytest.raises(SourceError, match="not a git repository"):
        GitHistorySource(tmp_path / "plain")
    repo = Repo(tmp_path / "r")
    repo.commit("one", **{"sub__a.txt": "a\n"})
    with pytest.raises(SourceError, match="not a git repository"):
        GitHistorySource(repo.path / "sub")  # a subdirectory is not the repository
    assert detector() is detector()


def test_an_empty_repository_plans_nothing(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    source = GitHistorySource(repo.path)
    blobs, skipped = read_everything(source)
    assert blobs == [] and skipped == [] and source.planned_oids == {source.repository.key: frozenset()}
    assert source.provenance([]) == {}


def test_a_linked_worktree_is_the_same_repository(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("one", **{"a.txt": "a\n"})
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "other")
    linked = GitHistorySource(tmp_path / "wt")
    assert linked.repository.work_tree == str(tmp_path / "wt")
    assert linked.repository.key == GitHistorySource(repo.path).repository.key
    blobs, _ = read_everything(linked)
    assert [blob.data for blob in blobs] == [b"a\n"]


def test_a_git_without_the_blob_filter_walks_the_history_all_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scanner.sources.git import objects

    repo = Repo(tmp_path / "r")
    repo.commit("keys", **{"conf/keys.ini": AWS_TEXT, "README.md": "hello\n"})
    expected = objects.enumerate_objects(GitHistorySource(repo.path).repository)
    # what git before 2.32 answers to object:type (an unknown filter): the walk runs again unfiltered
    monkeypatch.setattr(objects, "_ONLY_BLOBS", ("--filter=object:colour=blob",))
    inventory = objects.enumerate_objects(GitHistorySource(repo.path).repository)
    assert inventory.complete and not inventory.problems
    assert sorted(inventory.blobs) == sorted(expected.blobs)
    assert {blob.path for blob in inventory.blobs} == {"conf/keys.ini", "README.md"}
