#!/usr/bin/env python3
"""Where keysweep's time goes on a directory scan: one process, one core, phase by phase.

    .venv/bin/python tests/benchmarks/profile_dir_scan.py TREE [--cprofile 25] [--per-rule 15]

TREE is a directory (e.g. /tmp/keysweep-bench/tree-300mb-seed1/tree from bench_dir_scan.py). The scan
runs in this process through the pipeline's own `scan_unit` (what each worker runs), with timers
wrapped around its steps:

    start-up     `keysweep --version` and `import scanner.cli.scan, scanner.pipeline` (subprocesses)
    rules        load_builtin_rules(), the cached compiled database, Engine() (regex compilation)
    planning     FileSource.plan() (walk and stat, no reads)
    reading      read_file() (open, read, chunk)
    decode       expand() (archives, UTF-16, base64 / URL gate and decoding), excluding detection
    hyperscan    Engine.candidate_windows() (the prefilter pass)
    confirm      Engine.scan() minus the prefilter (regex around hits, positions)
    detect       Detector.findings() minus Engine.scan() (pairing, filters, fingerprints)
    report/store apply_triage, Store.record_scan, the JSON report

CPU seconds here add up to roughly what the worker processes of a real scan spend together; the
wall time of a real scan is about (read + decode + hyperscan + confirm + detect) / workers plus the
serial parts (start-up, rules, planning, report/store) and the pool's pickling. The timers cost
something themselves (a clock read around every step of every blob): read the shares, not the sums.
--per-rule re-runs the prefilter and confirmation per rule on a second pass, to name the rules that
cost the most.
The timers rely on pipeline internals (`scan_unit`, `expand` and `read_file` looked up as module
globals); if those move, this script says so instead of printing wrong numbers.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
MIB = 1024 * 1024


class Clock:
    """Accumulated CPU seconds per phase (process_time: immune to other processes on the machine)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.by_ext: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def timed_call(self, phase: str, function: Callable[..., T]) -> Callable[..., T]:
        def wrapper(*args: Any, **kwargs: Any) -> T:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[phase] += time.process_time() - started

        return wrapper

    def timed_iter(self, phase: str, iterator: Iterator[T], ext: str) -> Iterator[T]:
        """Yields from `iterator`, charging only the time spent inside it to `phase`."""
        while True:
            started = time.process_time()
            try:
                item = next(iterator)
            except StopIteration:
                spent = time.process_time() - started
                self.seconds[phase] += spent
                self.by_ext[ext][phase] += spent
                return
            spent = time.process_time() - started
            self.seconds[phase] += spent
            self.by_ext[ext][phase] += spent
            yield item


def extension(path: str) -> str:
    name = path.split("!", 1)[0].rsplit("/", 1)[-1]
    for double in (".tar.gz", ".min.js", ".log.gz"):
        if name.endswith(double):
            return double
    return "." + name.rsplit(".", 1)[-1] if "." in name else name


def startup_seconds(keysweep: str) -> dict[str, float]:
    result = {}
    for label, argv in (
        ("keysweep --version", [keysweep, "--version"]),
        (
            "import scanner.cli.scan + pipeline",
            [sys.executable, "-c", "import scanner.cli.scan, scanner.pipeline"],
        ),
    ):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        result[label] = sorted(times)[1]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="also print the top N functions")
    parser.add_argument(
        "--per-rule", type=int, default=0, metavar="N", help="second pass: the N costliest rules"
    )
    parser.add_argument("--no-decode", action="store_true")
    args = parser.parse_args(argv)

    import scanner.pipeline as pipeline
    import scanner.sources.files as files
    from scanner.config import load_config
    from scanner.decode import expand as real_expand
    from scanner.model import Blob
    from scanner.pipeline import ScanSettings, apply_triage, scan_unit
    from scanner.report.registry import get_reporter
    from scanner.result import OutputOptions, ScanResult, ScanStats
    from scanner.rulecache import compiled_database
    from scanner.rules import load_builtin_rules
    from scanner.sources.interface import Limits
    from scanner.store import Store

    for module, name in ((pipeline, "expand"), (pipeline, "_WorkerState"), (files, "read_file")):
        if not hasattr(module, name):
            sys.exit(f"profile: {module.__name__}.{name} is gone; update this script to the new pipeline.")

    clock = Clock()
    wall: dict[str, float] = {}
    keysweep = str(Path(sys.executable).parent / "keysweep")
    wall.update(startup_seconds(keysweep))

    started = time.perf_counter()
    config = load_config(None, (args.tree,))
    rules = tuple(config.select_rules(load_builtin_rules()))
    wall["rules: load and select"] = time.perf_counter() - started
    started = time.perf_counter()
    database = compiled_database(rules)
    wall["rules: compiled database (cache)"] = time.perf_counter() - started
    settings = ScanSettings(
        rules=rules, policy=config.policy, limits=Limits(max_file_size=1024**3), decode=not args.no_decode
    )
    started = time.perf_counter()
    state = pipeline._WorkerState(rules, database, settings)
    wall["rules: Engine() (regex compile, db load)"] = time.perf_counter() - started

    started = time.perf_counter()
    source = files.FileSource(args.tree, exclude=config.policy.path_excluded)
    units = [u for u in source.plan(settings.limits) if isinstance(u, files.FileBatch)]
    wall["planning"] = time.perf_counter() - started

    # Timers around the steps of scan_unit.
    real_read_file = files.read_file
    engine = state.detector.engine
    real_windows = engine.candidate_windows
    real_scan = engine.scan
    real_findings = state.detector.findings
    counts: dict[str, int] = defaultdict(int)
    decoded_bytes: dict[str, int] = defaultdict(int)
    bytes_by_ext: dict[str, int] = defaultdict(int)

    def read_file(origin: str, planned: Any, limits: Limits) -> Iterator[Any]:
        ext = extension(planned.path)
        bytes_by_ext[ext] += planned.size
        return clock.timed_iter("reading", real_read_file(origin, planned, limits), ext)

    def expand(blob: Any, limits: Limits) -> Iterator[Any]:
        ext = extension(blob.location.path)
        for item in clock.timed_iter("decode", real_expand(blob, limits), ext):
            if isinstance(item, Blob) and (item.encoding or item.location != blob.location):
                counts["derived blobs"] += 1
                decoded_bytes[ext] += len(item.data)
            yield item

    def findings(blob: Any) -> Any:
        started = time.process_time()
        result = real_findings(blob)
        clock.by_ext[extension(blob.location.path)]["detect+"] += time.process_time() - started
        return result

    files.read_file = read_file
    pipeline.expand = expand
    setattr(engine, "candidate_windows", clock.timed_call("hyperscan", real_windows))  # noqa: B010
    setattr(engine, "scan", clock.timed_call("engine.scan", real_scan))  # noqa: B010
    setattr(state.detector, "findings", clock.timed_call("detector.findings", findings))  # noqa: B010

    for unit in units:  # warm the page cache (this VM's DAMON evicts file pages left cold)
        for planned in unit.files:
            with open(planned.absolute, "rb") as handle:
                while handle.read(8 * MIB):
                    pass
    outcomes = []
    profiler = cProfile.Profile() if args.cprofile else None
    started_wall = time.perf_counter()
    started_cpu = time.process_time()
    if profiler:
        profiler.enable()
    for unit in units:
        outcomes.append(scan_unit(unit, state))
    if profiler:
        profiler.disable()
    scan_wall = time.perf_counter() - started_wall
    scan_cpu = time.process_time() - started_cpu

    found = [f for o in outcomes for f in o.findings]
    result = ScanResult(
        targets=(source.description,),
        started_at=datetime.now(UTC),
        findings=tuple(f for f in found if not f.suppressed_by),
        suppressed=tuple(f for f in found if f.suppressed_by),
        skipped=tuple(s for o in outcomes for s in o.skipped),
        stats=ScanStats(
            blobs=sum(o.blobs for o in outcomes), bytes=sum(o.size for o in outcomes), rules=len(rules)
        ),
        rules=rules,
    )
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        with Store.open(Path(scratch) / "k.db") as store:
            result = apply_triage(result, store.triage_statuses())
            store.record_scan(result, datetime.now(UTC))
        wall["store: open, migrate, record"] = time.perf_counter() - started
        started = time.perf_counter()
        with open(Path(scratch) / "r.json", "w", encoding="utf-8") as stream:
            get_reporter("json").write(result, OutputOptions(show_secrets=True), stream)
        wall["report: json"] = time.perf_counter() - started

    s = clock.seconds
    detect = s["detector.findings"] - s["engine.scan"]
    confirm = s["engine.scan"] - s["hyperscan"]
    loop_rest = scan_cpu - s["reading"] - s["decode"] - s["detector.findings"]
    total_bytes = sum(bytes_by_ext.values())
    print(
        f"== {args.tree}: {len(units)} work units, {result.stats.blobs:,} blobs, "
        f"{total_bytes / MIB:.1f} MiB, "
        f"{len(rules)} rules, decode {'off' if args.no_decode else 'on'}"
    )
    print(
        f"   {len(result.findings)} findings, {len(result.suppressed)} suppressed, "
        f"{len(result.skipped)} skipped, "
        f"{counts['derived blobs']:,} decoded blobs ({sum(decoded_bytes.values()) / MIB:.1f} MiB)"
    )
    print("\n-- fixed costs (wall seconds)")
    for label, seconds in wall.items():
        print(f"   {label:<42} {seconds:8.3f}")
    print(
        f"\n-- scanning, one core: {scan_cpu:.2f} s CPU ({scan_wall:.2f} s wall), "
        f"{total_bytes / MIB / scan_cpu:.1f} MiB per CPU second"
    )
    phases = {
        "reading": s["reading"],
        "decode (expand, excl. detection)": s["decode"],
        "hyperscan prefilter": s["hyperscan"],
        "confirmation (regex around hits)": confirm,
        "detect (pairing, filters, fingerprints)": detect,
        "scan_unit bookkeeping": loop_rest,
    }
    for label, seconds in phases.items():
        print(f"   {label:<42} {seconds:8.2f} s  {100 * seconds / scan_cpu:5.1f}%")

    print("\n-- by file type (CPU seconds; detect+ = hyperscan + confirmation + detect)")
    print(
        f"   {'type':<10} {'MiB':>7} {'read':>7} {'decode':>7} {'detect+':>8} {'MiB/s':>7} "
        f"{'decoded MiB':>11}"
    )
    rows = sorted(clock.by_ext.items(), key=lambda item: -sum(item[1].values()))
    for ext, phases_by_ext in rows[:20]:
        cost = sum(phases_by_ext.values())
        size = bytes_by_ext.get(ext, 0) / MIB
        print(
            f"   {ext:<10} {size:7.1f} {phases_by_ext['reading']:7.2f} {phases_by_ext['decode']:7.2f} "
            f"{phases_by_ext['detect+']:8.2f} {size / cost if cost else 0:7.1f} "
            f"{decoded_bytes.get(ext, 0) / MIB:11.1f}"
        )

    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(args.cprofile)
        print("\n-- cProfile, by own time")
        print("\n".join(out.getvalue().splitlines()[6:]))

    if args.per_rule:
        per_rule(units, state, real_windows, real_read_file, real_expand, settings, args.per_rule)
    return 0


def per_rule(
    units: list[Any], state: Any, windows: Any, read_file: Any, expand: Any, settings: Any, top: int
) -> None:
    """Second pass: prefilter hits, window bytes and confirmation time per rule."""
    engine = state.detector.engine
    hits: dict[int, int] = defaultdict(int)
    window_bytes: dict[int, int] = defaultdict(int)
    seconds: dict[int, float] = defaultdict(float)
    for unit in units:
        for planned in unit.files:
            for item in read_file(unit.origin, planned, settings.limits):
                if not hasattr(item, "data"):
                    continue
                for blob in expand(item, settings.limits) if settings.decode else (item,):
                    if not hasattr(blob, "data"):
                        continue
                    data = blob.data
                    for index, spans in windows(data).items():
                        pattern = engine._patterns[index]
                        started = time.process_time()
                        for start, end in spans:
                            for _ in pattern.finditer(data, start, min(end, len(data))):
                                pass
                        seconds[index] += time.process_time() - started
                        hits[index] += len(spans)
                        window_bytes[index] += sum(end - start for start, end in spans)
    print(f"\n-- the {top} rules with the costliest confirmation (second pass)")
    print(f"   {'rule':<44} {'windows':>9} {'window MiB':>10} {'confirm s':>9}")
    for index in sorted(seconds, key=lambda i: -seconds[i])[:top]:
        print(
            f"   {engine.rules[index].id:<44} {hits[index]:9,d} {window_bytes[index] / MIB:10.1f} "
            f"{seconds[index]:9.2f}"
        )
    print(
        f"   {'all rules':<44} {sum(hits.values()):9,d} {sum(window_bytes.values()) / MIB:10.1f} "
        f"{sum(seconds.values()):9.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
