"""The benchmark history generator: deterministic, and every planted secret is where its manifest says."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from test_git_support import findings_in, read_everything

from scanner.sources.git import GitHistorySource, combine

GENERATOR = Path(__file__).resolve().parents[1] / "benchmarks" / "gen_history.py"
SMALL = [
    "--commits",
    "160",
    "--files",
    "40",
    "--blob-kb",
    "4",
    "--secrets",
    "21",
    "--huge",
    "0",
    "--seed",
    "7",
]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_history", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_history"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("gen") / "repo"
    assert generator().main([str(out), *SMALL]) == 0
    return out, json.loads(Path(f"{out}.manifest.json").read_text())


def test_the_same_seed_gives_the_same_history(
    generated: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    _, manifest = generated
    again = tmp_path / "again"
    generator().main([str(again), *SMALL])
    second = json.loads(Path(f"{again}.manifest.json").read_text())
    manifest, second = dict(manifest), dict(second)
    manifest.pop("seconds")
    second.pop("seconds")
    assert manifest == second


def test_every_planted_secret_is_found_where_the_manifest_says(
    generated: tuple[Path, dict[str, object]],
) -> None:
    out, manifest = generated
    secrets = manifest["secrets"]
    assert isinstance(secrets, list)
    placements = {secret["placement"] for secret in secrets}
    assert placements >= {
        "deleted-file",
        "removed-line",
        "many-versions",
        "at-head",
        "side-branch",
        "tag",
        "dangling",
    }
    assert {secret["kind"] for secret in secrets} >= {"aws", "github", "private-key"}

    source = GitHistorySource(out)
    blobs, skipped = read_everything(source)
    assert skipped == []
    everything = b"\n".join(blob.data for blob in blobs)
    findings = [finding for finding in findings_in(blobs) if finding.secret_found]
    traced = source.provenance([finding.location for finding in findings])
    for secret in secrets:
        if secret["kind"] == "aws":
            holding = [
                f for f in findings if f.key_id == secret["key_id"]
            ]  # the pair: id and secret together
            assert holding and all(finding.secret == secret["secret"] for finding in holding), secret["id"]
            assert len(holding) == secret["blobs"], secret["id"]
            combined = combine(traced[(str(out), finding.location.blob_id)] for finding in holding)
            assert combined.first is not None
            assert (combined.first.commit, combined.first.path) == (secret["commit"], secret["path"])
            assert combined.reachable == secret["reachable"] and combined.at_head == secret["at_head"]
        else:
            value = secret["token"] if secret["kind"] == "github" else secret["key"]
            assert value.encode() in everything, secret["id"]
