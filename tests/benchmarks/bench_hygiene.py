#!/usr/bin/env python3
"""Hygiene benchmark: one account of 5,000 users and 10,000 access keys, checked and reported against a
local moto server.

    .venv/bin/python tests/benchmarks/bench_hygiene.py [--users 5000] [--rounds 3] [--server direct|stock]

1. Starts a moto server in its own process on 127.0.0.1 (fake credentials, no other network), and prints
   which: `direct` (default) is moto_direct.py beside this file: moto's own per-service apps and backends
   over real HTTP, without moto's per-request dispatcher scan, with keep-alive connections; `stock` is
   `python -m moto.server`.
2. Seeds the caller's account: --users users, each with an owner tag and two access keys, one user in
   ten with a console password, an admin group for one user in fifty. (Key ages cannot be set through
   moto's API, and the server runs in another process, so every key is new: which checks fail differs
   from a real account, the work done per key does not.)
3. Times, --rounds times from scratch: collecting the inventory (`hygiene.inventory.collect`), running
   every check, resolving owners, recommending, and rendering the HTML and JSON reports. Prints each
   round, the median, the AWS calls made and which operations. Target (issue 6): under 10 s.

Measured 2026-11-23 (2 cores, 5,010 AWS calls a round of which 5,000 ListAccessKeys):
  direct, load 0.60 at the start, nothing else running: median 7.45 s of 3 rounds (collect 6.08-6.40 s,
    checks 0.49-0.60 s, reports 0.74-0.81 s). Target met.
  stock, load 0.81 at the start (another engineer's short runs began near the end): median 16.86 s
    (collect 14.4-15.5 s, checks 0.52-0.75 s, reports 0.79-1.03 s). Not met, and cannot be.
Per ListAccessKeys, CPU: stock server 2.1 ms (moto's Flask app + IAM 0.5 ms, its dispatcher 0.6 ms, a new
connection, thread and log line per call ~1 ms), direct server ~0.8 ms, client (boto3) ~1.0 ms either way.
Each process is bound to one core by its GIL, so 5,000 calls need >= 10.5 s of stock server time.
Details, the breakdown and what changed: tests/benchmarks/README.md, "Hygiene".

Not part of the test run (pytest only collects test_*.py); run it on demand.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_iam_enrich import ENV, free_port, start_moto  # noqa: E402

from hygiene.config import load_config  # noqa: E402
from hygiene.inventory import Target, collect  # noqa: E402
from hygiene.report import render  # noqa: E402
from hygiene.run import evaluate  # noqa: E402
from scanner.aws.settings import AwsSettings  # noqa: E402
from scanner.iam.config import IamConfig  # noqa: E402


def start_server(mode: str) -> tuple[subprocess.Popen[bytes], str]:
    """`stock`: `python -m moto.server`; `direct`: moto_direct.py (same backends, no per-request dispatch
    scan, keep-alive connections)."""
    if mode == "stock":
        return start_moto()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("moto_direct.py")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **ENV},
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, f"http://127.0.0.1:{port}"
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto_direct.py did not start")


def seed(url: str, users: int) -> int:
    import boto3
    from botocore.config import Config

    iam = boto3.client(
        "iam",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 3}),
    )
    iam.create_group(GroupName="admins")
    iam.put_group_policy(
        GroupName="admins",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )

    def user(n: int) -> int:
        name = f"user{n:05d}"
        iam.create_user(UserName=name, Tags=[{"Key": "owner", "Value": f"{name}@example.org"}])
        if n % 10 == 0:
            iam.create_login_profile(UserName=name, Password="Xy9!long-enough-pass")
        if n % 50 == 0:
            iam.add_user_to_group(GroupName="admins", UserName=name)
        for _ in range(2):
            iam.create_access_key(UserName=name)
        return 2

    with ThreadPoolExecutor(16) as pool:
        return sum(pool.map(user, range(users)))


class CountingClients:
    """Counts the AWS calls of a round (HTTP requests, retries included) and the operations called,
    through botocore's event hooks."""

    calls = 0
    operations: ClassVar[Counter[str]] = Counter()

    @classmethod
    def install(cls) -> None:
        import boto3

        def count(**_: object) -> None:
            cls.calls += 1

        def operation(model: Any, **_: object) -> None:
            cls.operations[model.name] += 1

        boto3.DEFAULT_SESSION = None
        original = boto3.session.Session.client

        def client(self: object, *args: object, **kwargs: object) -> object:
            made = original(self, *args, **kwargs)
            made.meta.events.register("before-send", count)
            made.meta.events.register("before-call", operation)
            return made

        boto3.session.Session.client = client


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="calls at once into the account")
    parser.add_argument(
        "--server",
        choices=("direct", "stock"),
        default="direct",
        help="direct: moto's backends behind moto_direct.py (default); stock: python -m moto.server",
    )
    args = parser.parse_args()
    os.environ.update(ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    server, url = start_server(args.server)
    command = "moto_direct.py" if args.server == "direct" else "python -m moto.server"
    print(f"server: {args.server} ({command})")
    try:
        started = time.perf_counter()
        keys = seed(url, args.users)
        print(f"seeded {args.users} users and {keys} keys in {time.perf_counter() - started:.1f} s")
        CountingClients.install()
        settings = replace(
            AwsSettings(), endpoint_url=url, max_workers=32, per_account_concurrency=args.concurrency
        )
        iam = IamConfig(role_name="", organization=False, aws=settings)
        config = load_config()
        times = []
        for round_ in range(1, args.rounds + 1):
            CountingClients.calls = 0
            CountingClients.operations.clear()
            t0 = time.perf_counter()
            now = datetime.now(UTC)
            inventory = collect(iam, now, Target())
            t1 = time.perf_counter()
            run = evaluate(inventory.with_leaks({}), config, now)
            t2 = time.perf_counter()
            html = render(run.report, "html", "owner", show_passed=False)  # as `hygiene report` does
            document = render(run.report, "json")
            t3 = time.perf_counter()
            times.append(t3 - t0)
            found = sum(len(u.keys or ()) for a in inventory.accounts for u in a.users)
            statuses = Counter(r.status.value for r in run.results)
            print(
                f"round {round_}: {t3 - t0:.2f} s (collect {t1 - t0:.2f}, checks {t2 - t1:.2f}, "
                f"reports {t3 - t2:.2f}); {found} keys, {CountingClients.calls} AWS calls, "
                f"{dict(statuses)}, html {len(html) // 1024} KiB, json {len(document) // 1024} KiB"
            )
            print(f"  calls: {dict(CountingClients.operations.most_common())}")
            gaps = [g for a in inventory.accounts for g in a.gaps]
            if gaps:
                print(f"  gaps: {gaps[:3]}")
        print(f"median {statistics.median(times):.2f} s (target: < 10 s)")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
