"""Where a secret entered: sightings per blob, and combined per fingerprint across blobs."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from test_git_support import AWS_TEXT, KEY_ID, Repo, findings_in, read_everything

from scanner.sources.git import GitHistorySource, combine
from scanner.sources.git.provenance import BlobProvenance, Sighting, combine_by_fingerprint, trace


def test_a_secret_in_several_blobs_entered_with_the_earliest_and_is_only_in_history_once_removed(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("unrelated", **{"README.md": "hi\n"})
    entered = repo.commit("add keys", **{"conf/keys.ini": AWS_TEXT})
    edited = repo.commit("edit keys", **{"conf/keys.ini": AWS_TEXT + "region = eu-west-1\n"})
    copied = repo.commit("copy", **{"deploy/env.ini": "# copy\n" + AWS_TEXT})
    (repo.path / "conf" / "keys.ini").unlink()
    (repo.path / "deploy" / "env.ini").unlink()
    repo.commit("remove keys")

    source = GitHistorySource(repo.path)
    blobs, _ = read_everything(source)
    found = findings_in(blobs)
    assert {finding.key_id for finding in found} == {KEY_ID} and len(found) == 3
    traced = source.provenance([finding.location for finding in found])
    by_fingerprint: dict[str, set[str]] = defaultdict(set)
    for finding in found:
        assert finding.location.blob_id is not None
        by_fingerprint[finding.fingerprint].add(finding.location.blob_id)
    provenances = {oid: provenance for (_origin, oid), provenance in traced.items()}
    [(fingerprint, secret)] = combine_by_fingerprint(by_fingerprint, provenances).items()
    assert secret.first is not None and (secret.first.commit, secret.first.path) == (entered, "conf/keys.ini")
    assert [(s.commit, s.path) for s in secret.later] == [
        (edited, "conf/keys.ini"),
        (copied, "deploy/env.ini"),
    ]
    assert secret.only_in_history and not secret.at_head and len(secret.blob_ids) == 3
    in_tree = combine_by_fingerprint(by_fingerprint, provenances, in_working_tree={fingerprint})[fingerprint]
    assert in_tree.in_working_tree and not in_tree.only_in_history


def test_a_secret_still_at_head_and_reintroduced_after_removal(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    first = repo.commit("add", **{"keys.ini": AWS_TEXT})
    (repo.path / "keys.ini").unlink()
    repo.commit("remove")
    again = repo.commit("re-add", **{"keys.ini": AWS_TEXT})
    source = GitHistorySource(repo.path)
    oid = repo.blob_id(AWS_TEXT)
    provenance = trace(source.repository, [oid])[oid]
    assert provenance.first is not None and provenance.first.commit == first
    assert [s.commit for s in provenance.later] == [again]
    assert provenance.at_head and not combine([provenance]).only_in_history


def test_an_older_stash_is_found_through_the_reflog(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("base", **{"app.env": "x=1\n"})
    repo.write("app.env", AWS_TEXT)
    repo.git("stash", "-q")
    repo.write("app.env", "x=2\n")
    repo.git("stash", "-q")
    oid = repo.blob_id(AWS_TEXT)
    provenance = trace(GitHistorySource(repo.path).repository, [oid])[oid]
    assert provenance.first is not None and provenance.first.path == "app.env"
    assert provenance.first.summary.startswith("WIP on main")


def test_combine_orders_by_commit_time_and_keeps_no_duplicates() -> None:
    def seen(commit: str, at: int, path: str = "p") -> Sighting:
        return Sighting(commit, "n", "e", "d", "s", path, committed_at=at, order=-at)

    early, late = seen("a" * 40, 100), seen("b" * 40, 200)
    one = BlobProvenance("1" * 40, late, (), at_head=False, reachable=True)
    two = BlobProvenance("2" * 40, early, (late,), at_head=True, reachable=False)
    combined = combine([one, two])
    assert combined.first == early and combined.later == (late,)
    assert combined.at_head and combined.reachable and not combined.only_in_history
    assert combine([]).first is None
