"""`--range A..B` and `--since REF`: only the blobs those commits introduced, each at its commit and path."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_git_support import AWS_TEXT, Repo, findings_in, read_everything

from scanner.sources.git import GitHistorySource
from scanner.sources.interface import SourceError


@pytest.fixture
def five(tmp_path: Path) -> tuple[Repo, list[str]]:
    repo = Repo(tmp_path / "r")
    commits = [
        repo.commit("c1", **{"a.txt": "a1\n", "b.txt": "b1\n"}),
        repo.commit("c2", **{"a.txt": "a2\n"}),
        repo.commit("c3", **{"keys.ini": AWS_TEXT, "a.txt": "a3\n"}),
        repo.commit("c4", **{"b.txt": "b4\n", "dir__c.txt": "a1\n"}),  # c.txt reuses an old blob
        repo.commit("c5", **{"a.txt": "a5\n"}),
    ]
    return repo, commits


def introduced(source: GitHistorySource) -> list[tuple[bytes, str, str | None]]:
    blobs, skipped = read_everything(source)
    assert skipped == []
    return sorted((blob.data, blob.location.path, blob.location.commit) for blob in blobs)


def test_a_range_yields_only_the_blobs_its_commits_introduced(five: tuple[Repo, list[str]]) -> None:
    repo, (_c1, c2, c3, c4, _c5) = five
    source = GitHistorySource(repo.path, range=f"{c2}..{c4}")
    assert introduced(source) == [
        (AWS_TEXT.encode(), "keys.ini", c3),
        (b"a1\n", "dir/c.txt", c4),
        (b"a3\n", "a.txt", c3),
        (b"b4\n", "b.txt", c4),
    ]
    assert "commits" in source.description and source.repositories == [source.repository]
    blobs, _ = read_everything(source)
    [finding] = findings_in(blobs)
    assert finding.location.commit == c3


def test_since_is_ref_to_head_and_an_open_end_means_head(five: tuple[Repo, list[str]]) -> None:
    repo, (_c1, _c2, _c3, c4, c5) = five
    repo.git("tag", "v4", c4)
    assert introduced(GitHistorySource(repo.path, since="v4")) == [(b"a5\n", "a.txt", c5)]
    assert introduced(GitHistorySource(repo.path, range="v4..")) == [(b"a5\n", "a.txt", c5)]
    assert introduced(GitHistorySource(repo.path, range="HEAD..")) == []


def test_a_range_over_a_merge_counts_the_merged_commits_once(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    base = repo.commit("base", **{"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "feature")
    feature = repo.commit("feature", **{"keys.ini": AWS_TEXT})
    repo.git("checkout", "-q", "main")
    repo.commit("main", **{"b.txt": "b\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "merge", "feature")
    result = introduced(GitHistorySource(repo.path, range=f"{base}..HEAD"))
    assert (AWS_TEXT.encode(), "keys.ini", feature) in result and len(result) == 2


@pytest.mark.parametrize(
    "options, message",
    [
        ({"range": "nope..HEAD"}, "'nope' is not a commit"),
        ({"range": "HEAD..nope"}, "'nope' is not a commit"),
        ({"since": "v9"}, "'v9' is not a commit"),
        ({"range": "HEAD"}, "not of the form A..B"),
        ({"range": "HEAD~1...HEAD"}, "uses '...'"),
        ({"range": "HEAD~1..HEAD", "since": "HEAD"}, "not both"),
    ],
)
def test_bad_ranges_are_a_sentence(
    five: tuple[Repo, list[str]], options: dict[str, str], message: str
) -> None:
    repo, _ = five
    with pytest.raises(SourceError, match=message):
        GitHistorySource(repo.path, **options)  # type: ignore[arg-type]
