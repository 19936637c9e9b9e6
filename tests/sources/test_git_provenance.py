"""Where a secret entered: sightings per blob, and combined per fingerprint across blobs."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from test_git_support import AWS_TEXT, KEY_ID, Repo, findings_in, read_everything

from scanner.rules import load_builtin_rules
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


def test_the_provenance_pass_started_with_the_scan_gives_the_same_sightings(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    entered = repo.commit("add keys", **{"conf/keys.ini": AWS_TEXT})
    repo.commit("copy", **{"deploy/env.ini": "# copy\n" + AWS_TEXT})
    (repo.path / "conf" / "keys.ini").unlink()
    repo.commit("remove")

    def traced(start_early: bool) -> dict[tuple[str, str], BlobProvenance]:
        source = GitHistorySource(repo.path)
        assert not source.expects_large_scan()  # a few KiB of history: no early worker pool
        blobs, _ = read_everything(source)
        if start_early:
            source.scan_starting()  # git log runs beside the scan (here: already done)
        try:
            return source.provenance([finding.location for finding in findings_in(blobs)])
        finally:
            source.close()

    early, late = traced(True), traced(False)
    assert early == late and len(early) == 2
    assert {p.first.commit for p in early.values() if p.first is not None} >= {entered}


def test_a_provenance_pass_nobody_asks_for_is_stopped_on_close(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("clean", **{"README.md": "nothing here\n"})
    source = GitHistorySource(repo.path)
    read_everything(source)
    source.scan_starting()
    [history] = source._history_logs.values()
    source.close()
    assert history._process.returncode is not None and history._stdout.closed
    assert GitHistorySource(repo.path, range="HEAD~0..HEAD").expects_large_scan() is False


def test_a_large_history_starts_its_workers_before_planning_and_its_provenance_beside_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scanner.pipeline
    import scanner.sources.git.packed
    import scanner.sources.git.source

    repo = Repo(tmp_path / "r")
    entered = repo.commit("add keys", **{"conf/keys.ini": AWS_TEXT})
    for n in range(3):
        repo.commit(f"more {n}", **{f"src/f{n}.py": f"print({n})\n" * 50})
    repo.git("gc", "--quiet")
    monkeypatch.setattr(scanner.sources.git.source, "LARGE_PACK_BYTES", 0)  # "large": the early pool
    monkeypatch.setattr(scanner.pipeline, "IN_PROCESS_BYTES", 0)  # and scanned by the workers,
    monkeypatch.setattr(scanner.sources.git.packed, "unit_bytes_for", lambda _total: 1)  # a unit per blob
    started: list[str] = []
    original = GitHistorySource.scan_starting

    def spy(self: GitHistorySource) -> None:
        started.append("provenance pass")
        original(self)

    monkeypatch.setattr(GitHistorySource, "scan_starting", spy)
    pools: list[bool] = []
    in_pool = scanner.pipeline._scan_in_pool

    async def pool_spy(*args: object, **kwargs: object) -> object:
        pools.append(args[4] is not None)  # the pool started before planning was used
        return await in_pool(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scanner.pipeline, "_scan_in_pool", pool_spy)
    source = GitHistorySource(repo.path)
    assert source.expects_large_scan()
    result = scanner.pipeline.scan_sources(
        [source], scanner.pipeline.ScanSettings(rules=tuple(load_builtin_rules()), workers=2)
    )
    try:
        found = [f for f in result.findings if f.key_id == KEY_ID]
        assert found and started == ["provenance pass"] and pools == [True]
        traced = source.provenance([finding.location for finding in found])
    finally:
        source.close()
    assert {p.first.commit for p in traced.values() if p.first is not None} == {entered}
