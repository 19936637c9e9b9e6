#!/usr/bin/env python3
"""Git-history benchmark (issue 3): keysweep against gitleaks, kingfisher and the `git cat-file` floor.

    .venv/bin/python tests/benchmarks/bench_git_history.py [--repo DIR] [--rounds 3] [--work-dir DIR]

On one repository made by gen_history.py (default /tmp/genbig2, generated at the default size if
missing), in one run:

1. Warms the page cache (reads the pack files) and keysweep's compiled-rule cache (one scan of a
   one-file directory, not measured).
2. Runs, round-robin (the order rotates every round), each tool reading the whole history:
     keysweep    scan REPO --full --quiet --format json --output R --db <fresh db>
     gitleaks    git REPO --no-banner --exit-code 0 --report-path R   (default log-opts: all history)
     kingfisher  scan REPO --no-validate --no-update-check --format json --output R  (git history: full)
     floor       git cat-file --batch-all-objects --batch >/dev/null   (one process: every object,
                 inflated and delta-resolved, nothing matched)
   Each run is a subprocess waited for with os.wait4, which gives:
     wall     perf_counter around the run;
     CPU      ru_utime + ru_stime of the child, which on Linux includes every descendant the child
              waited for (keysweep's worker processes, git subprocesses of all three tools);
     maxrss   ru_maxrss of the same rusage: the largest SINGLE process among the child and its
              reaped descendants (not a sum);
     tree     a sampler thread sums the RSS (/proc/PID/statm) of the child and all its live
              descendants every 50 ms and keeps the peak: the memory the whole scan held at once.
              Pages shared between forked workers count once per process, so it is an upper bound.
   The RSS target (<= 400 MB) is checked against `tree`, the stricter of the two.
3. Prints medians per tool and the ratios of issue 3: keysweep / faster of (gitleaks, kingfisher)
   (target <= 0.35) and keysweep / floor (target <= 1.0).
4. Recall, from one more keysweep run with --show-secrets --show-suppressed (not timed): every
   planted secret of the manifest (deleted files, side branches, tags, notes, dangling commits)
   matched by AWS key id / token / key body. Then every gitleaks and kingfisher finding (from the
   last round's reports): found by keysweep too, suppressed by keysweep on purpose (the filter is
   named), not matched by keysweep but a value one of its filters would suppress (named), or
   unexplained; the last two are printed grouped by tool and rule with sample values so
   a person can explain each group.

Runs are noisy on a shared 2-core machine: read medians and the min-max spread, not one run.
Reports, logs and results.json stay in --work-dir (default /tmp/keysweep-bench-git).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
MIB = 1024 * 1024
TARGET_VS_PEERS = 0.35
TARGET_VS_FLOOR = 1.0
TARGET_RSS_MB = 400
TOOLS = ("keysweep", "gitleaks", "kingfisher", "floor")


# --- running one command, measured -------------------------------------------------------------


@dataclass
class Measurement:
    wall: float
    cpu: float
    maxrss_mb: float
    tree_rss_mb: float
    code: int
    load: float = 0.0  # 1-minute load average when the run started: how busy the shared machine was


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _descendants(pid: int) -> list[int]:
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


class TreeMemory(threading.Thread):
    """Peak of the summed RSS of a process and its live descendants, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in _descendants(self.pid)))


def run_measured(argv: list[str], env: dict[str, str], stdout: Path, stderr: Path) -> Measurement:
    load = os.getloadavg()[0]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=err, cwd="/tmp")
        sampler = TreeMemory(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        maxrss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=sampler.peak_kb / 1024,
        code=process.returncode,
        load=load,
    )


# --- the tools ---------------------------------------------------------------------------------


@dataclass
class Tool:
    name: str
    command: Callable[[Path, Path, Path], list[str]]  # (repo, report, db) -> argv
    ok_codes: frozenset[int]
    report_is_stdout: bool = False


def find_binary(name: str) -> str:
    for directory in (Path(sys.executable).parent, REPO_ROOT / ".venv" / "bin"):
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if not found:
        sys.exit(f"bench: {name} not found (pip install -e '.[bench]' into the venv).")
    return found


def make_tools() -> dict[str, Tool]:
    keysweep, gitleaks, kingfisher = (find_binary(n) for n in ("keysweep", "gitleaks", "kingfisher"))
    git = shutil.which("git") or "git"
    return {
        "keysweep": Tool(
            "keysweep",
            lambda repo, report, db: [
                keysweep,
                "scan",
                str(repo),
                "--full",
                "--quiet",
                "--format",
                "json",
                "--output",
                str(report),
                "--db",
                str(db),
            ],
            frozenset({0, 1}),
        ),
        "gitleaks": Tool(
            "gitleaks",
            lambda repo, report, db: [
                gitleaks,
                "git",
                str(repo),
                "--no-banner",
                "--exit-code",
                "0",
                "--report-format",
                "json",
                "--report-path",
                str(report),
            ],
            frozenset({0}),
        ),
        "kingfisher": Tool(
            "kingfisher",
            lambda repo, report, db: [
                kingfisher,
                "scan",
                str(repo),
                "--git-history",
                "full",
                "--no-validate",
                "--no-update-check",
                "--format",
                "json",
                "--output",
                str(report),
            ],
            frozenset({0, 200, 205}),
        ),
        "floor": Tool(
            "floor",
            lambda repo, report, db: [git, "-C", str(repo), "cat-file", "--batch-all-objects", "--batch"],
            frozenset({0}),
            report_is_stdout=True,
        ),
    }


def _with_arguments(
    command: Callable[[Path, Path, Path], list[str]], extra: list[str]
) -> Callable[[Path, Path, Path], list[str]]:
    return lambda repo, report, db: [*command(repo, report, db), *extra]


def run_tool(tool: Tool, repo: Path, work: Path, label: str, env: dict[str, str]) -> tuple[Measurement, Path]:
    reports = work / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    report, db = reports / f"{label}.json", reports / f"{label}.db"
    for stale in (report, db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)
    stdout = Path(os.devnull) if tool.report_is_stdout else reports / f"{label}.out"
    log = reports / f"{label}.log"
    measurement = run_measured(tool.command(repo, report, db), env, stdout, log)
    if measurement.code not in tool.ok_codes:
        sys.exit(f"bench: {tool.name} exited {measurement.code}:\n{log.read_text(errors='replace')[-2000:]}")
    for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)
    return measurement, report


# --- corpus --------------------------------------------------------------------------------------


def ensure_repo(repo: Path) -> tuple[Path, dict[str, Any]]:
    candidates = [Path(f"{repo}.manifest.json"), repo / ".manifest.json", repo / "manifest.json"]
    for path in candidates:
        if path.exists() and ((repo / "objects").is_dir() or (repo / ".git").is_dir()):
            return repo, json.loads(path.read_text())
    print(f"generating {repo} with gen_history.py at its default size (takes minutes) ...", flush=True)
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run([sys.executable, str(HERE / "gen_history.py"), str(repo)], check=True)
    return repo, json.loads(Path(f"{repo}.manifest.json").read_text())


def warm_page_cache(repo: Path) -> None:
    for directory, _dirs, names in os.walk(repo):
        for name in names:
            try:
                with open(os.path.join(directory, name), "rb") as handle:
                    while handle.read(8 * MIB):
                        pass
            except OSError:
                pass


# --- findings: values, matching, recall -----------------------------------------------------------

_PEM_LINE = re.compile(r"-----(BEGIN|END)[^-]*-----")


def normalize(value: str) -> str:
    """A secret as comparable text: PEM armour, whitespace, quotes and escaped newlines removed."""
    value = _PEM_LINE.sub("", value.replace("\\n", "\n"))
    return re.sub(r"[\s\"']", "", value)


def keysweep_values(document: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(normalized value -> rule, for reported findings), (value -> suppressing filter, for suppressed)."""
    reported: dict[str, str] = {}
    suppressed: dict[str, str] = {}
    entries = [(f, False) for f in document.get("findings", [])]
    entries += [(f, True) for f in document.get("suppressed", []) or []]
    for finding, was_suppressed in entries:
        by = finding.get("suppressed_by") or (finding.get("suppression") if was_suppressed else None)
        target = suppressed if (was_suppressed or by) else reported
        label = f"{finding.get('rule_id')} / {by}" if target is suppressed else str(finding.get("rule_id"))
        for field in ("secret", "key_id", "secret_found"):
            value = finding.get(field)
            if isinstance(value, str) and value:
                target.setdefault(normalize(value), label)
    return reported, suppressed


def lookup(value: str, table: dict[str, str], long_values: list[str]) -> str | None:
    """The label of a table entry equal to value, containing it, or contained in it (>= 12 chars)."""
    if value in table:
        return table[value]
    if len(value) < 12:
        return None
    for candidate in long_values:
        if value in candidate or candidate in value:
            return table[candidate]
    return None


def planted_values(secret: dict[str, Any]) -> list[str]:
    if secret["kind"] == "aws":
        return [secret["key_id"]]  # the pair's secret is checked too, reported separately
    if secret["kind"] == "github":
        return [secret["token"]]
    return [secret["key"]]


def recall(manifest: dict[str, Any], reported: dict[str, str]) -> list[dict[str, Any]]:
    long_values = [v for v in reported if len(v) >= 12]
    rows = []
    for secret in manifest["secrets"]:
        found = all(lookup(normalize(v), reported, long_values) for v in planted_values(secret))
        pair_secret = None
        if secret["kind"] == "aws":
            pair_secret = lookup(normalize(secret["secret"]), reported, long_values) is not None
        rows.append(
            {
                "id": secret["id"],
                "kind": secret["kind"],
                "placement": secret["placement"],
                "reachable_from": secret.get("reachable_from"),
                "found": found,
                "aws_secret_found": pair_secret,
            }
        )
    return rows


def peer_values(tool: str, report: Path) -> list[tuple[str, str, str]]:
    """(rule, normalized value, where) for each finding of a peer's JSON report."""
    if not report.exists() or report.stat().st_size == 0:
        return []
    document = json.loads(report.read_text(errors="replace"))
    rows = []
    if tool == "gitleaks":
        for f in document:
            rows.append(
                (
                    f["RuleID"],
                    normalize(f.get("Secret") or f.get("Match") or ""),
                    f"{f.get('File')}@{f.get('Commit', '')[:10]}",
                )
            )
    else:
        for f in document.get("findings", []):
            finding = f.get("finding", {})
            rows.append(
                (
                    f.get("rule", {}).get("id", "?"),
                    normalize(finding.get("snippet") or ""),
                    str(finding.get("path")),
                )
            )
    return rows


def filtered_value(value: str) -> str | None:
    """The keysweep filter that suppresses `value` as a generic secret (a 40-hex digest, a placeholder...),
    for peer findings keysweep does not even match: an explanation, not a miss."""
    from scanner.filters import first_filter_that_fires

    return first_filter_that_fires(generic_rule(), value)


@functools.cache
def generic_rule() -> Any:
    sys.path.insert(0, str(REPO_ROOT))
    from scanner.rules import load_builtin_rules

    return next(rule for rule in load_builtin_rules() if rule.id == "generic-token-assignment")


def explain_peers(
    reports: dict[str, Path], reported: dict[str, str], suppressed: dict[str, str]
) -> dict[str, Any]:
    long_reported = [v for v in reported if len(v) >= 12]
    long_suppressed = [v for v in suppressed if len(v) >= 12]
    out: dict[str, Any] = {}
    for tool, report in reports.items():
        groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(
            lambda: {"findings": 0, "values": set(), "samples": []}
        )
        for rule, value, where in peer_values(tool, report):
            if lookup(value, reported, long_reported):
                status = "found by keysweep"
            elif (label := lookup(value, suppressed, long_suppressed)) is not None:
                status = f"suppressed by keysweep: {label}"
            elif (label := filtered_value(value)) is not None:
                status = f"not matched by keysweep, a value its {label} filter suppresses"
            else:
                status = "UNEXPLAINED"
            group = groups[(rule, status)]
            group["findings"] += 1
            if value not in group["values"]:
                group["values"].add(value)
                if len(group["samples"]) < 3:
                    group["samples"].append(f"{value[:40]} ({where})")
        out[tool] = [
            {
                "rule": rule,
                "status": status,
                "findings": g["findings"],
                "distinct_values": len(g["values"]),
                "samples": g["samples"],
            }
            for (rule, status), g in sorted(groups.items())
        ]
    return out


# --- the run ---------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def count_findings(tool: str, report: Path) -> int | None:
    if tool == "floor" or not report.exists():
        return None
    document = json.loads(report.read_text(errors="replace") or "[]")
    return len(document) if isinstance(document, list) else len(document.get("findings", []))


def print_ratios(
    name: str, summary: dict[str, dict[str, Any]], results: dict[str, list[Measurement]], rounds: int
) -> dict[str, float]:
    """The ratios of issue 3 for one keysweep configuration: of the medians, and of each round's
    times (median over rounds: less sensitive to the shared machine's load drifting between runs)."""
    ks, runs = summary[name], results[name]
    peers = [p for p in ("gitleaks", "kingfisher") if p in summary]
    out: dict[str, float] = {}
    print(f"  {name}:")
    if peers:
        out["vs_faster_peer"] = ks["wall"] / min(summary[p]["wall"] for p in peers)
        out["vs_faster_peer_per_round"] = median(
            [runs[i].wall / min(results[p][i].wall for p in peers) for i in range(rounds)]
        )
        print(
            f"    / faster of {', '.join(peers)}: {out['vs_faster_peer']:.2f}x of medians, "
            f"{out['vs_faster_peer_per_round']:.2f}x same-round (target <= {TARGET_VS_PEERS})"
        )
    if "floor" in summary:
        out["vs_floor"] = ks["wall"] / summary["floor"]["wall"]
        out["vs_floor_per_round"] = median([runs[i].wall / results["floor"][i].wall for i in range(rounds)])
        print(
            f"    / git cat-file floor: {out['vs_floor']:.2f}x of medians, "
            f"{out['vs_floor_per_round']:.2f}x same-round (target <= {TARGET_VS_FLOOR})"
        )
    print(
        f"    peak RSS, process tree: {ks['tree_rss_mb']:.0f} MB, largest process: "
        f"{ks['maxrss_mb']:.0f} MB (target <= {TARGET_RSS_MB} MB)"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=Path("/tmp/genbig2"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/keysweep-bench-git"))
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help="comma-separated subset of " + ",".join(TOOLS)
    )
    parser.add_argument("--no-recall", action="store_true")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="ARGS",
        help="also run keysweep with these extra arguments, as its own tool in the round-robin "
        "(e.g. --variant='--disable-rule generic-token-assignment'); repeatable",
    )
    args = parser.parse_args(argv)

    repo, manifest = ensure_repo(args.repo.resolve())
    work = args.work_dir / repo.name
    work.mkdir(parents=True, exist_ok=True)
    tools = make_tools()
    names = [n for n in args.tools.split(",") if n]
    for extra in args.variant:
        name = f"keysweep {extra}"
        tools[name] = Tool(name, _with_arguments(tools["keysweep"].command, extra.split()), frozenset({0, 1}))
        names.append(name)
    env = {**os.environ, "KEYSWEEP_CACHE_DIR": str(args.work_dir / "keysweep-cache")}
    objects = subprocess.run(
        ["git", "-C", str(repo), "count-objects", "-v"], capture_output=True, text=True, check=True
    ).stdout
    print(
        f"repository {repo}: {manifest.get('commits')} commits, "
        f"{manifest.get('blob_bytes', 0) / MIB:,.0f} MiB of blob versions, "
        f"{len(manifest['secrets'])} planted secrets; {' '.join(objects.split()[4:10])}",
        flush=True,
    )

    warm_page_cache(repo)
    tiny = work / "tiny"
    tiny.mkdir(exist_ok=True)
    (tiny / "app.py").write_text("x = 1\n")
    run_tool(tools["keysweep"], tiny, work, "warm-keysweep", env)  # compiles the rule cache

    results: dict[str, list[Measurement]] = defaultdict(list)
    last_report: dict[str, Path] = {}
    for index in range(args.rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            label = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
            measurement, report = run_tool(tools[name], repo, work, f"{label}-r{index}", env)
            results[name].append(measurement)
            last_report[name] = report
            print(
                f"  round {index + 1} {name:<10} wall {measurement.wall:7.1f} s  "
                f"cpu {measurement.cpu:7.1f} s  "
                f"maxrss {measurement.maxrss_mb:6.0f} MB  tree {measurement.tree_rss_mb:6.0f} MB  "
                f"load {measurement.load:.1f}",
                flush=True,
            )

    summary: dict[str, dict[str, Any]] = {}
    for name in names:
        runs = results[name]
        summary[name] = {
            "wall": median([m.wall for m in runs]),
            "wall_min": min(m.wall for m in runs),
            "wall_max": max(m.wall for m in runs),
            "cpu": median([m.cpu for m in runs]),
            "maxrss_mb": max(m.maxrss_mb for m in runs),
            "tree_rss_mb": max(m.tree_rss_mb for m in runs),
            "findings": count_findings(name, last_report[name]),
        }
    print(f"\nmedians of {args.rounds} rounds on {repo}:")
    width = max(len(name) for name in names) + 2
    print(
        f"  {'tool':<{width}}{'wall s':>8}{'(min-max)':>16}{'cpu s':>9}"
        f"{'maxrss MB':>11}{'tree RSS MB':>13}{'findings':>10}"
    )
    for name, s in summary.items():
        findings = "-" if s["findings"] is None else f"{s['findings']:,}"
        spread = f"({s['wall_min']:.1f}-{s['wall_max']:.1f})"
        print(
            f"  {name:<{width}}{s['wall']:8.1f}{spread:>16}{s['cpu']:9.1f}"
            f"{s['maxrss_mb']:11.0f}{s['tree_rss_mb']:13.0f}{findings:>10}"
        )
    ratios: dict[str, dict[str, float]] = {}
    for name in [n for n in names if n.startswith("keysweep")]:
        ratios[name] = print_ratios(name, summary, results, args.rounds)

    recall_rows: list[dict[str, Any]] = []
    peers_explained: dict[str, Any] = {}
    if not args.no_recall:
        print("\nrecall run: keysweep --show-secrets --show-suppressed (not timed) ...", flush=True)
        recall_tool = Tool(
            "keysweep-recall",
            _with_arguments(tools["keysweep"].command, ["--show-secrets", "--show-suppressed"]),
            frozenset({0, 1}),
        )
        _, report = run_tool(recall_tool, repo, work, "keysweep-recall", env)
        document = json.loads(report.read_text())
        reported, suppressed = keysweep_values(document)
        recall_rows = recall(manifest, reported)
        missed = [r for r in recall_rows if not r["found"]]
        by_placement: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in recall_rows:
            by_placement[f"{row['kind']}/{row['placement']}"][0] += row["found"]
            by_placement[f"{row['kind']}/{row['placement']}"][1] += 1
        print(f"  planted secrets found: {len(recall_rows) - len(missed)}/{len(recall_rows)}")
        for key, (hit, total) in sorted(by_placement.items()):
            print(f"    {key:<28} {hit}/{total}")
        pairs = [r for r in recall_rows if r["aws_secret_found"] is not None]
        print(
            f"  AWS secret keys (the pair's second half) found: "
            f"{sum(r['aws_secret_found'] for r in pairs)}/{len(pairs)}"
        )
        for row in missed:
            print(f"  MISSED {row['id']} {row['kind']} {row['placement']} ({row['reachable_from']})")
        peers_explained = explain_peers(
            {p: last_report[p] for p in ("gitleaks", "kingfisher") if p in last_report}, reported, suppressed
        )
        for tool, groups in peers_explained.items():
            print(f"\n  {tool} findings against keysweep's (grouped by rule):")
            print(f"    {'rule':<32}{'status':<58}{'findings':>9}{'values':>8}")
            for g in groups:
                print(f"    {g['rule']:<32}{g['status'][:57]:<58}{g['findings']:>9}{g['distinct_values']:>8}")
                if g["status"] != "found by keysweep":
                    for sample in g["samples"]:
                        print(f"        e.g. {sample}")

    (work / "results.json").write_text(
        json.dumps(
            {
                "repo": str(repo),
                "rounds": args.rounds,
                "runs": {n: [asdict(m) for m in ms] for n, ms in results.items()},
                "summary": summary,
                "ratios": ratios,
                "recall": recall_rows,
                "peers": peers_explained,
            },
            indent=2,
        )
    )
    print(f"\nreports and results.json in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
