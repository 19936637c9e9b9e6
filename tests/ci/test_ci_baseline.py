"""`keysweep baseline create|update` and `scan --baseline`: content fingerprints, never line numbers."""

from __future__ import annotations

import json
from pathlib import Path

from ci_helpers import TOKEN, TOKEN2, commit, new_repo, scan_json, write

from tests.conftest import Keysweep


def test_baseline_create_filter_move_and_update(tmp_path: Path, keysweep: Keysweep) -> None:
    tree = tmp_path / "tree"
    write(tree, {"a.py": f"x = 1\ntoken = '{TOKEN}'\n", "b.py": f"other = '{TOKEN2}'\n"})
    run = keysweep("baseline", "create", tree)
    assert run.code == 0, run.stderr
    baseline_file = tree / ".keysweep-baseline.json"
    text = baseline_file.read_text()
    assert TOKEN not in text and TOKEN2 not in text  # never a secret
    document = json.loads(text)
    assert len(document["findings"]) == 2
    assert all("line" not in entry for entry in document["findings"])

    code, report = scan_json(keysweep, tree, ".", "--baseline", baseline_file, "--show-suppressed")
    assert code == 0 and report["findings"] == []
    assert {s["suppressed_by"] for s in report["suppressed"]} >= {"baseline"}

    # moving code around does not resurface a baselined finding
    write(tree, {"a.py": f"\n\n\n# moved\nimport os\nmoved = '{TOKEN}'\n", "c/moved.py": f"x = '{TOKEN}'\n"})
    assert scan_json(keysweep, tree, ".", "--baseline", baseline_file)[0] == 0

    # a different secret on an already baselined line is new
    new = "ghp_Q7w3Er9TyU1iO5pA8sD2fG6hJ4kL0zX3cV5b"
    write(tree, {"b.py": f"other = '{new}'\n"})
    code, report = scan_json(keysweep, tree, ".", "--baseline", baseline_file)
    assert code == 1 and [f["path"] for f in report["findings"]] == ["b.py"]

    # update prunes the fixed one (TOKEN2 is gone), keeps TOKEN, does not add the new one
    run = keysweep("baseline", "update", tree)
    assert run.code == 0, run.stderr
    assert "1 fixed" in run.stderr
    document = json.loads(baseline_file.read_text())
    assert [e["rule_id"] for e in document["findings"]] == ["github-personal-access-token"]
    assert scan_json(keysweep, tree, ".", "--baseline", baseline_file)[0] == 1


def test_baseline_from_config_and_errors(tmp_path: Path, keysweep: Keysweep) -> None:
    repo = new_repo(tmp_path)
    commit(repo, "leak", {"leak.py": f"t = '{TOKEN}'\n"})
    assert keysweep("baseline", "create", repo, "-o", repo / "known.json").code == 0
    write(repo, {".keysweep.toml": '[ci]\nbaseline = "known.json"\n'})
    assert scan_json(keysweep, repo, ".", "--no-history")[0] == 0
    assert scan_json(keysweep, repo, ".", "--no-history", "--no-repo-config")[0] == 1
    missing = keysweep("scan", ".", "--baseline", "nope.json", "-q", cwd=repo)
    assert missing.code == 2 and "nope.json" in missing.stderr
    (repo / "bad.json").write_text("{}")
    bad = keysweep("scan", ".", "--baseline", "bad.json", "-q", cwd=repo)
    assert bad.code == 2 and "not a keysweep baseline" in bad.stderr
