#!/usr/bin/env python3
"""CI benchmark: `keysweep scan --range` over a 10-commit pull request against `gitleaks git --log-opts=A..B`,
and `keysweep scan --staged` on a commit of a few files.

    .venv/bin/python tests/benchmarks/bench_ci_range.py [--repo /tmp/genbig2] [--commits 10] [--rounds 5]

The repository is one made by gen_history.py (default /tmp/genbig2; generate one with
`python tests/benchmarks/gen_history.py --help`). Each round runs the tools one after the other in
subprocesses (the order alternates); medians of wall time are printed with keysweep's ratio to gitleaks.
Targets (issue 4): range at most 0.5x gitleaks and under 0.5 s; staged under 0.4 s.

keysweep's range scan runs in three set-ups, as CI runners meet it:
- warm: the findings database and the rule cache kept from the previous run (a self-hosted runner);
- fresh db: a new, empty database each run (a hosted runner: every job starts with none; keysweep creates
  the schema), the rule cache kept (actions/cache, or an earlier keysweep step of the same job);
- cold: a new database and an empty rule cache each run (a hosted runner without actions/cache: the
  rules are parsed and the hyperscan databases compiled, then cached for the job's later steps).
The staged scan runs warm (a developer's machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall time and exit code of one run."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{argv[:4]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed, done.returncode


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=B", "-c", "user.email=b@example.org", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=Path("/tmp/genbig2"))
    parser.add_argument("--commits", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gitleaks", default=str(Path(sys.executable).parent / "gitleaks"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="keysweep-ci-bench-"))
    env = dict(os.environ, KEYSWEEP_DB=str(work / "bench.db"), KEYSWEEP_CACHE_DIR=str(work / "cache"))
    runs = iter(range(1_000_000))

    def fresh_db() -> dict[str, str]:
        return dict(env, KEYSWEEP_DB=str(work / f"fresh-{next(runs)}.db"))

    def cold() -> dict[str, str]:
        number = next(runs)
        return dict(
            env, KEYSWEEP_DB=str(work / f"cold-{number}.db"), KEYSWEEP_CACHE_DIR=str(work / f"cold-{number}")
        )

    keysweep = [sys.executable, "-m", "scanner"]
    head = git(args.repo, "rev-parse", "HEAD")
    base = git(args.repo, "rev-parse", f"HEAD~{args.commits}")
    spec = f"{base}..{head}"
    print(f"repository {args.repo}, range {base[:10]}..{head[:10]} ({args.commits} commits)")

    range_argv = [*keysweep, "scan", str(args.repo), "--range", spec, "-q", "-f", "json"]
    tools = {
        "keysweep --range (warm)": range_argv,
        "keysweep --range (fresh db)": range_argv,
        "keysweep --range (cold)": range_argv,
    }
    environments = {"keysweep --range (fresh db)": fresh_db, "keysweep --range (cold)": cold}
    if shutil.which(args.gitleaks) or Path(args.gitleaks).exists():
        tools["gitleaks git --log-opts"] = [
            args.gitleaks,
            "git",
            "--no-banner",
            "--log-level",
            "error",
            f"--log-opts={spec}",
            "--report-path",
            str(work / "gl.json"),
            "--exit-code",
            "0",
            str(args.repo),
        ]
    run(range_argv, env)  # warm the rule cache, the database and the page cache
    times: dict[str, list[float]] = {name: [] for name in tools}
    for round_ in range(args.rounds):
        names = list(tools) if round_ % 2 == 0 else list(reversed(tools))
        for name in names:
            times[name].append(run(tools[name], environments.get(name, lambda: env)())[0])

    small = work / "small"
    small.mkdir()
    git(small, "init", "-q", "-b", "main")
    for i in range(20):
        (small / f"m{i}.py").write_text(f"value_{i} = {i}\n" * 50)
    git(small, "add", "-A")
    git(small, "commit", "-q", "-m", "base")
    for i in range(4):
        (small / f"m{i}.py").write_text(f"changed_{i} = {i}\n" * 60)
    (small / "new.py").write_text("x = 1\n")
    git(small, "add", "-A")
    staged_argv = [*keysweep, "scan", "--staged", "-q"]
    run(staged_argv, env, cwd=small)
    times["keysweep --staged (5 files)"] = [run(staged_argv, env, cwd=small)[0] for _ in range(args.rounds)]

    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        spread = ", ".join(f"{v:.3f}" for v in values)
        print(f"{name:32s} median {medians[name]:.3f} s   [{spread}]")
    ranges = [name for name in medians if name.startswith("keysweep --range")]
    if "gitleaks git --log-opts" in medians:
        for name in ranges:
            ratio = medians[name] / medians["gitleaks git --log-opts"]
            print(f"{name} / gitleaks: {ratio:.2f}x   (target <= 0.5x)")
    under = ", ".join(f"{name[len('keysweep --range ') :]} {medians[name] < 0.5}" for name in ranges)
    print(f"range under 0.5 s: {under}; staged under 0.4 s: {medians['keysweep --staged (5 files)'] < 0.4}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
