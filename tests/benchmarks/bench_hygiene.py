#!/usr/bin/env python3
"""Hygiene benchmark: one account of 5,000 users and 10,000 access keys, checked and reported against a
local moto server.

    .venv/bin/python tests/benchmarks/bench_hygiene.py [--users 5000] [--rounds 3]

1. Starts `moto_server` in its own process on 127.0.0.1 (fake credentials, no other network).
2. Seeds the caller's account: --users users, each with an owner tag and two access keys, one user in
   ten with a console password, an admin group for one user in fifty. (Key ages cannot be set through
   moto's API, and the server runs in another process, so every key is new: which checks fail differs
   from a real account, the work done per key does not.)
3. Times, --rounds times from scratch: collecting the inventory (`hygiene.inventory.collect`), running
   every check, resolving owners, recommending, and rendering the HTML and JSON reports. Prints each
   round, the median, the AWS calls made and which operations. Target (issue 6): under 10 s.

Measured 2026-11-23 (2 cores, load 1.15 at the start): median 19.24 s of 3 rounds (collect 16.7-18.5 s,
checks 0.6-0.75 s, reports 1.1-1.35 s), 5,011 AWS calls of which 5,000 ListAccessKeys. The target is not met
on moto: IAM has no bulk call for access key ids, so one ListAccessKeys per user stays, and moto's server
spends ~2.4 ms of CPU on each under its GIL (<= ~400 calls/s, so >= 12 s for 5,000). Details and what was
tried: tests/benchmarks/README.md, "Hygiene".

Not part of the test run (pytest only collects test_*.py); run it on demand.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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

from bench_iam_enrich import ENV, start_moto  # noqa: E402

from hygiene.config import load_config  # noqa: E402
from hygiene.inventory import Target, collect  # noqa: E402
from hygiene.report import render  # noqa: E402
from hygiene.run import evaluate  # noqa: E402
from scanner.aws.settings import AwsSettings  # noqa: E402
from scanner.iam.config import IamConfig  # noqa: E402


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
    args = parser.parse_args()
    os.environ.update(ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    server, url = start_moto()
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
