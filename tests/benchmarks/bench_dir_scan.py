#!/usr/bin/env python3
"""Directory-scan benchmark: keysweep against kingfisher and gitleaks on the same generated tree.

    .venv/bin/python tests/benchmarks/bench_dir_scan.py [--size-mb 300] [--mix mixed|source] [--rounds 3]
                                                        [--tree DIR] [--tools keysweep,kingfisher,...]

1. Generates the tree with gen_tree.py (or reuses one generated earlier with the same size, seed and
   mix); --tree scans a gen_tree.py OUT_DIR or any directory (no recall check without a manifest).
2. Measures start-up on a one-file directory (each tool, and keysweep with a cold rule cache); these
   runs also warm keysweep's and kingfisher's compiled-rule caches.
3. Reads every file before every timed run, so the page cache is warm for everyone (this VM runs a
   DAMON `pageout` scheme that evicts file pages left cold for a while, even with memory free).
4. Runs the tools round-robin (the order rotates every round, so no tool always follows the same
   one), each in a subprocess waited for with os.wait4: wall time, CPU time (user + sys of the
   process and the workers it reaped) and peak RSS of the largest single process (ru_maxrss); a
   sampler also adds up the RSS of the whole process tree (keysweep forks workers; the others are
   one multi-threaded process).
5. Prints medians per tool, keysweep's ratios against the others (targets from issue 2: at most
   1.0x kingfisher's wall time, about 0.25x gitleaks'), which planted secrets each tool found (and
   which decoys it reported), and keysweep with the 5 AWS rules, with every rule but the generic ones,
   and with the full default ruleset (issue 2: about the same cost), and with --no-decode.

Runs are noisy on a shared 2-core machine: read the medians and the spread, not a single run.
Every report and a results JSON stay in --work-dir (default /tmp/keysweep-bench).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import gen_tree  # noqa: E402

MIB = 1024 * 1024
TARGET_VS_KINGFISHER = 1.0
TARGET_VS_GITLEAKS = 0.25
DEFAULT_TOOLS = (
    "keysweep",
    "kingfisher",
    "gitleaks",
    "keysweep-aws-rules",
    "keysweep-no-generic",
    "keysweep-no-decode",
)
# keysweep with fewer rules, through a config whose [rules] disable list leaves only these.
SUBSETS = ("keysweep-aws-rules", "keysweep-no-generic")


# --- running one command, measured -------------------------------------------------------------


@dataclass
class Measurement:
    wall: float
    cpu: float
    maxrss_mb: float  # ru_maxrss: the largest single process (the child or one of its reaped children)
    tree_rss_mb: float  # sampled peak of the summed RSS of the process tree (0 if not sampled)
    code: int


class TreeMemory(threading.Thread):
    """Samples the summed RSS of a process and its descendants every 100 ms; keeps the peak.

    RSS from /proc/PID/statm costs nothing to read (PSS from smaps_rollup walks the page tables: on a
    2 GB process, polling it took a noticeable share of a core away from the scan being measured).
    The sum counts pages that forked workers share with their parent once per process: an upper bound.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            total = sum(_rss_kb(pid) for pid in _descendants(self.pid))
            self.peak_kb = max(self.peak_kb, total)


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


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def run_measured(argv: list[str], env: dict[str, str], log: Path, sample_memory: bool = True) -> Measurement:
    with log.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr, cwd=tempfile.gettempdir()
        )
        sampler = TreeMemory(process.pid) if sample_memory else None
        if sampler:
            sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if sampler:
            sampler.done.set()
            sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        maxrss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=(sampler.peak_kb / 1024) if sampler else 0.0,
        code=process.returncode,
    )


# --- the tools ---------------------------------------------------------------------------------


@dataclass
class Tool:
    name: str
    command: Callable[[Path, Path], list[str]]  # (target, report) -> argv
    ok_codes: frozenset[int]
    findings: Callable[[Any], list[dict[str, Any]]]
    env: dict[str, str] = field(default_factory=dict)
    fresh_db: bool = False


def find_binary(name: str, bin_dir: Path | None) -> str:
    candidates = [bin_dir] if bin_dir else [Path(sys.executable).parent, REPO / ".venv" / "bin"]
    for directory in candidates:
        if directory and (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if not found:
        sys.exit(f"bench: {name} not found (pip install -e '.[bench]' into the venv, or pass --bin-dir).")
    return found


def make_tools(work: Path, bin_dir: Path | None, subsets: dict[str, Path]) -> dict[str, Tool]:
    keysweep = find_binary("keysweep", bin_dir)
    kingfisher = find_binary("kingfisher", bin_dir)
    gitleaks = find_binary("gitleaks", bin_dir)
    cache = {"KEYSWEEP_CACHE_DIR": str(work / "keysweep-cache")}

    def keysweep_command(*extra: str) -> Callable[[Path, Path], list[str]]:
        def command(target: Path, report: Path) -> list[str]:
            db = report.with_suffix(".db")
            return [
                keysweep,
                "scan",
                str(target),
                "--quiet",
                "--format",
                "json",
                "--output",
                str(report),
                "--db",
                str(db),
                "--show-secrets",
                *extra,
            ]

        return command

    tools = {
        "keysweep": Tool(
            "keysweep", keysweep_command(), frozenset({0, 1}), lambda d: d["findings"], cache, True
        ),
        "keysweep-no-decode": Tool(
            "keysweep-no-decode",
            keysweep_command("--no-decode"),
            frozenset({0, 1}),
            lambda d: d["findings"],
            cache,
            True,
        ),
        "kingfisher": Tool(
            "kingfisher",
            lambda target, report: [
                kingfisher,
                "scan",
                str(target),
                "--no-validate",
                "--no-update-check",
                "--format",
                "json",
                "--output",
                str(report),
            ],
            frozenset({0, 200, 205}),
            lambda d: d["findings"],
        ),
        "gitleaks": Tool(
            "gitleaks",
            lambda target, report: [
                gitleaks,
                "dir",
                str(target),
                "--no-banner",
                "--exit-code",
                "0",
                "--report-format",
                "json",
                "--report-path",
                str(report),
            ],
            frozenset({0}),
            lambda d: d,
        ),
    }
    for name, config in subsets.items():
        command = keysweep_command("--config", str(config))
        tools[name] = Tool(name, command, frozenset({0, 1}), lambda d: d["findings"], cache, True)
    return tools


def head_commit() -> str:
    """The repository's HEAD (read-only; the working tree may hold uncommitted changes on top)."""
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return found.stdout.strip() or "unknown"


def ruleset(keysweep: str) -> dict[str, Any]:
    """How many rules are enabled by default, and a digest of their listing (rules change often)."""
    listing = subprocess.run(
        [keysweep, "rules", "--format", "json"], capture_output=True, text=True, check=True
    )
    rules = json.loads(listing.stdout)
    return {
        "enabled": sum(1 for rule in rules if rule.get("enabled", True)),
        "listing_sha256": hashlib.sha256(listing.stdout.encode()).hexdigest()[:16],
    }


def subset_configs(keysweep: str, work: Path) -> tuple[dict[str, Path], dict[str, int]]:
    """Configs that leave only the AWS rules, or every rule but the generic ones (assignments with
    entropy, bearer tokens...): (config per variant, rule count per variant and for the default set)."""
    listing = subprocess.run(
        [keysweep, "rules", "--format", "json"], capture_output=True, text=True, check=True
    )
    enabled = [rule for rule in json.loads(listing.stdout) if rule.get("enabled", True)]
    keep = {
        "keysweep-aws-rules": lambda r: "aws" in r.get("tags", []) or r["id"].startswith("aws-"),
        "keysweep-no-generic": lambda r: "generic" not in r.get("tags", []),
    }
    configs: dict[str, Path] = {}
    counts = {"keysweep": len(enabled)}
    for name, kept in keep.items():
        disabled = [r["id"] for r in enabled if not kept(r)]
        path = work / f"{name}.toml"
        path.write_text("[rules]\ndisable = [\n" + "".join(f'    "{rule}",\n' for rule in disabled) + "]\n")
        configs[name] = path
        counts[name] = len(enabled) - len(disabled)
    return configs, counts


# --- findings and recall ---------------------------------------------------------------------------


def load_findings(tool: Tool, report: Path) -> list[str]:
    """Each finding as its JSON text: recall checks look for planted values and paths in it."""
    if not report.exists() or report.stat().st_size == 0:
        return []
    document = json.loads(report.read_text(encoding="utf-8", errors="replace"))
    return [json.dumps(finding, ensure_ascii=False) for finding in tool.findings(document)]


def recall(manifest: dict[str, Any], findings: list[str]) -> dict[str, str]:
    """Per planted secret: `yes` (every needle found in a finding of its file), `id` (only the first:
    a key id without its secret), `-` (missed)."""
    result = {}
    for planted in manifest["planted"]:
        container = planted["path"].split("!", 1)[0]
        near = [f for f in findings if container in f]
        needles = planted["needles"]
        found = [any(needle in f for f in near) for needle in needles]
        result[planted["id"]] = "yes" if all(found) else ("id" if found[0] else "-")
    return result


def decoys_reported(manifest: dict[str, Any], findings: list[str]) -> list[str]:
    return [
        f"{d['kind']} ({d['path']})"
        for d in manifest.get("decoys", [])
        if any(d["path"] in f and d["needle"] in f for f in findings)
    ]


def unplanted(manifest: dict[str, Any], findings: list[str]) -> int:
    needles = [n for p in manifest["planted"] for n in p["needles"]]
    return sum(1 for f in findings if not any(n in f for n in needles))


# --- the benchmark ---------------------------------------------------------------------------------


def ensure_tree(args: argparse.Namespace) -> tuple[Path, dict[str, Any] | None]:
    """(directory to scan, manifest or None)."""
    if args.tree is not None:
        manifest_path = args.tree / "manifest.json"
        if manifest_path.exists():
            return args.tree / "tree", json.loads(manifest_path.read_text())
        return args.tree, None
    suffix = "" if args.mix == "mixed" else f"-{args.mix}"
    out = args.work_dir / f"tree-{args.size_mb:g}mb-seed{args.seed}{suffix}"
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if (
            manifest.get("generator_version") == gen_tree.GENERATOR_VERSION
            and manifest.get("size_mb") == args.size_mb
            and manifest.get("seed") == args.seed
            and manifest.get("mix", "mixed") == args.mix
            and not args.regenerate
        ):
            print(f"reusing {out / 'tree'} ({manifest['files']:,} files)", flush=True)
            return out / "tree", manifest
    print(f"generating {args.size_mb:g} MB under {out} ...", flush=True)
    manifest = gen_tree.generate(out, args.size_mb, args.seed, args.mix)
    print(
        f"  {manifest['files']:,} files, {manifest['bytes'] / MIB:.1f} MiB in {manifest['seconds']} s",
        flush=True,
    )
    return out / "tree", manifest


def tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for directory, _dirs, names in os.walk(root):
        for name in names:
            try:
                size += os.lstat(os.path.join(directory, name)).st_size
                files += 1
            except OSError:
                pass
    return files, size


def warm_page_cache(root: Path) -> None:
    for directory, _dirs, names in os.walk(root):
        for name in names:
            try:
                with open(os.path.join(directory, name), "rb") as handle:
                    while handle.read(8 * MIB):
                        pass
            except OSError:
                pass


def run_tool(tool: Tool, target: Path, work: Path, label: str) -> tuple[Measurement, Path]:
    report = work / "reports" / f"{label}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    for stale in (report, report.with_suffix(".db")):
        stale.unlink(missing_ok=True)
    env = {**os.environ, **tool.env}
    measurement = run_measured(tool.command(target, report), env, report.with_suffix(".log"))
    if measurement.code not in tool.ok_codes:
        log = report.with_suffix(".log").read_text(errors="replace")[-2000:]
        sys.exit(f"bench: {tool.name} exited {measurement.code} on {target}:\n{log}")
    report.with_suffix(".db").unlink(missing_ok=True)
    return measurement, report


def startup(tools: dict[str, Tool], work: Path, rounds: int, cold_runs: int) -> dict[str, list[Measurement]]:
    """One small file: the fixed cost of each tool; keysweep also with an empty rule cache (compiles
    the hyperscan database: what a first run, or the first after a rule or config change, costs)."""
    tiny = work / "tiny"
    tiny.mkdir(parents=True, exist_ok=True)
    (tiny / "app.py").write_text('import os\n\nTOKEN = os.environ["TOKEN"]\n')
    results: dict[str, list[Measurement]] = {}
    names = [n for n in ("keysweep", "kingfisher", "gitleaks") if n in tools]
    for name in tools:  # warm every compiled-rule cache first (not measured)
        run_tool(tools[name], tiny, work, f"warm-{name}")
    for index in range(rounds):
        for name in names:
            measurement, _ = run_tool(tools[name], tiny, work, f"startup-{name}")
            results.setdefault(name, []).append(measurement)
        if "keysweep" in tools and cold_runs > index:
            cold = tools["keysweep"]
            cold_cache = work / f"cold-cache-{index}"
            shutil.rmtree(cold_cache, ignore_errors=True)
            cold_tool = Tool(
                "keysweep (cold cache)",
                cold.command,
                cold.ok_codes,
                cold.findings,
                {"KEYSWEEP_CACHE_DIR": str(cold_cache)},
                True,
            )
            measurement, _ = run_tool(cold_tool, tiny, work, "startup-keysweep-cold")
            results.setdefault("keysweep (cold cache)", []).append(measurement)
            shutil.rmtree(cold_cache, ignore_errors=True)
    return results


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(measurements: list[Measurement], size: int) -> dict[str, float]:
    wall = median([m.wall for m in measurements])
    return {
        "wall_median": wall,
        "wall_min": min(m.wall for m in measurements),
        "wall_max": max(m.wall for m in measurements),
        "cpu_median": median([m.cpu for m in measurements]),
        "maxrss_mb": max(m.maxrss_mb for m in measurements),
        "tree_rss_mb": max(m.tree_rss_mb for m in measurements),
        "mb_per_s": size / MIB / wall if wall else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=300, help="size of the generated tree (default 300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--mix",
        choices=sorted(gen_tree.MIXES),
        default="mixed",
        help="mixed: source, JSON, minified, logs, binaries, archives (default); source: a plain code tree",
    )
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds (default 3)")
    parser.add_argument("--startup-rounds", type=int, default=3, help="start-up runs per tool (default 3)")
    parser.add_argument(
        "--cold-runs", type=int, default=1, help="keysweep start-ups with an empty rule cache (default 1)"
    )
    parser.add_argument("--tree", type=Path, help="reuse a gen_tree.py OUT_DIR (or scan any directory)")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "keysweep-bench")
    parser.add_argument(
        "--tools", default=",".join(DEFAULT_TOOLS), help=f"comma-separated, from {', '.join(DEFAULT_TOOLS)}"
    )
    parser.add_argument(
        "--bin-dir", type=Path, help="where keysweep, kingfisher, gitleaks are (default: this venv)"
    )
    parser.add_argument("--regenerate", action="store_true", help="generate the tree even if one matches")
    args = parser.parse_args(argv)
    work: Path = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    selected = [name.strip() for name in args.tools.split(",") if name.strip()]
    unknown = set(selected) - set(DEFAULT_TOOLS)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")

    target, manifest = ensure_tree(args)
    files, size = tree_size(target)
    configs, rule_counts = subset_configs(find_binary("keysweep", args.bin_dir), work)
    subsets = {name: path for name, path in configs.items() if name in selected}
    tools = {name: tool for name, tool in make_tools(work, args.bin_dir, subsets).items() if name in selected}

    print(f"start-up: one small file, {args.startup_rounds} runs each ...", flush=True)
    started = startup(tools, work, args.startup_rounds, args.cold_runs)

    runs: dict[str, list[Measurement]] = {name: [] for name in tools}
    reports: dict[str, Path] = {}
    order = list(tools)
    for round_index in range(args.rounds):
        rotated = order[round_index % len(order) :] + order[: round_index % len(order)]
        for name in rotated:
            warm_page_cache(target)  # this VM's DAMON reclaims page cache that stays cold for a while
            measurement, report = run_tool(tools[name], target, work, f"{name}-r{round_index + 1}")
            runs[name].append(measurement)
            reports[name] = report
            print(
                f"  round {round_index + 1} {name:<20} {measurement.wall:7.2f} s wall "
                f"{measurement.cpu:7.2f} s cpu "
                f"{measurement.maxrss_mb:7.0f} MB rss {measurement.tree_rss_mb:7.0f} MB tree rss",
                flush=True,
            )

    findings = {name: load_findings(tools[name], reports[name]) for name in tools}
    summary = {name: summarize(runs[name], size) for name in tools}
    print_report(args, target, files, size, summary, started, findings, manifest, rule_counts)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0))},
        "tree": {
            "path": str(target),
            "files": files,
            "bytes": size,
            "size_mb": args.size_mb,
            "mix": args.mix,
            "seed": args.seed,
        },
        "rounds": args.rounds,
        "summary": summary,
        "runs": {name: [vars(m) for m in ms] for name, ms in runs.items()},
        "startup": {name: [vars(m) for m in ms] for name, ms in started.items()},
        "findings": {name: len(f) for name, f in findings.items()},
        "recall": {name: recall(manifest, f) for name, f in findings.items()} if manifest else None,
        "rule_counts": rule_counts,
        "ruleset": ruleset(find_binary("keysweep", args.bin_dir)),
        "keysweep_commit": head_commit(),
    }
    out = work / f"results-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {out}\nreports: {work / 'reports'}")
    return 0


def print_report(
    args: argparse.Namespace,
    target: Path,
    files: int,
    size: int,
    summary: dict[str, dict[str, float]],
    started: dict[str, list[Measurement]],
    findings: dict[str, list[str]],
    manifest: dict[str, Any] | None,
    rule_counts: dict[str, int],
) -> None:
    print(
        f"\n== {target}: {files:,} files, {size / MIB:.1f} MiB; {args.rounds} rounds, medians "
        f"({os.cpu_count()} CPUs)"
    )
    print(
        f"{'tool':<20} {'wall s':>7} {'range':>13} {'cpu s':>7} {'MB/s':>7} {'max RSS MB':>10} "
        f"{'tree RSS MB':>11} {'findings':>8}"
    )
    for name, s in summary.items():
        print(
            f"{name:<20} {s['wall_median']:7.2f} {s['wall_min']:6.2f}-{s['wall_max']:<6.2f} "
            f"{s['cpu_median']:7.2f} "
            f"{s['mb_per_s']:7.1f} {s['maxrss_mb']:10.0f} {s['tree_rss_mb']:11.0f} {len(findings[name]):8d}"
        )

    print("\n== start-up (one small file), medians")
    for name, ms in started.items():
        print(
            f"{name:<22} {median([m.wall for m in ms]):6.2f} s wall {median([m.cpu for m in ms]):6.2f} s cpu "
            f"{max(m.maxrss_mb for m in ms):6.0f} MB rss"
        )

    if "keysweep" in summary:
        ks = summary["keysweep"]
        print("\n== keysweep ratios (wall; cpu)")
        for peer, target_ratio in (("kingfisher", TARGET_VS_KINGFISHER), ("gitleaks", TARGET_VS_GITLEAKS)):
            if peer in summary:
                wall = ks["wall_median"] / summary[peer]["wall_median"]
                cpu = ks["cpu_median"] / summary[peer]["cpu_median"]
                verdict = (
                    "meets" if wall <= target_ratio * (1.0 if peer == "kingfisher" else 1.1) else "MISSES"
                )
                print(
                    f"keysweep / {peer:<11} {wall:5.2f}x wall  {cpu:5.2f}x cpu   "
                    f"target <= {target_ratio}x: {verdict}"
                )
        if "keysweep-aws-rules" in summary:
            aws = summary["keysweep-aws-rules"]
            print("\n== rule-count sensitivity (issue 2: about the same cost with 10 or 200 rules)")
            for name in ("keysweep-aws-rules", "keysweep-no-generic", "keysweep"):
                if name in summary:
                    s = summary[name]
                    print(
                        f"{name:<20} {rule_counts[name]:4d} rules {s['wall_median']:6.2f} s wall "
                        f"{s['cpu_median']:6.2f} s cpu   vs AWS rules only: "
                        f"{s['wall_median'] / aws['wall_median']:5.2f}x wall "
                        f"{s['cpu_median'] / aws['cpu_median']:5.2f}x cpu"
                    )
        if "keysweep-no-decode" in summary:
            nd = summary["keysweep-no-decode"]
            print(
                f"decoding on / off (--no-decode): {ks['wall_median'] / nd['wall_median']:5.2f}x wall  "
                f"{ks['cpu_median'] / nd['cpu_median']:5.2f}x cpu"
            )

    if manifest is None:
        return
    names = [n for n in findings if n in ("keysweep", "kingfisher", "gitleaks", "keysweep-no-decode")]
    per_tool = {name: recall(manifest, findings[name]) for name in names}
    print(
        "\n== recall on planted secrets "
        "(yes: found, with its pair's secret if any; id: key id only; -: missed)"
    )
    print(f"{'planted':<24} {'context':<15} {'path':<58} " + " ".join(f"{n[:12]:>12}" for n in names))
    for planted in manifest["planted"]:
        row = " ".join(f"{per_tool[n][planted['id']]:>12}" for n in names)
        print(f"{planted['id']:<24} {planted['context']:<15} {planted['path'][:58]:<58} {row}")
    total = len(manifest["planted"])
    print(
        f"{'found (yes or id)':<98} "
        + " ".join(f"{sum(1 for v in per_tool[n].values() if v != '-'):>9}/{total}" for n in names)
    )
    print(
        f"{'complete (yes)':<98} "
        + " ".join(f"{sum(1 for v in per_tool[n].values() if v == 'yes'):>9}/{total}" for n in names)
    )
    print("\n== other findings (no planted value in them: noise on generated content, or decoys)")
    for name in names:
        decoys = decoys_reported(manifest, findings[name])
        print(
            f"{name:<20} {unplanted(manifest, findings[name]):6d} other findings; decoys reported: "
            f"{', '.join(decoys) if decoys else 'none'}"
        )


if __name__ == "__main__":
    sys.exit(main())
