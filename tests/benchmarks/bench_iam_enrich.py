#!/usr/bin/env python3
"""IAM enrichment benchmark: 1,000 distinct AWS key ids across 5 accounts against a local moto server.

    .venv/bin/python tests/benchmarks/bench_iam_enrich.py [--keys 1000] [--accounts 5] [--rounds 3]

1. Starts `moto_server` in its own process on 127.0.0.1 (so the server does not share the benchmark's
   interpreter lock), with fake credentials and no other network.
2. Seeds an Organization: the management account and (accounts - 1) members, the read-only role in each,
   and users with owner tags holding two keys each, until there are --keys key ids (plus a few deleted
   and foreign ids in the mix, as a real scan has).
3. Enriches every key id from scratch (no cache) --rounds times and prints the wall time of each round,
   the median, the AWS calls made and the states found. Target (issue 5): under 10 s.

Not part of the test run (pytest only collects test_*.py); run it on demand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scanner.aws.session import AwsClients  # noqa: E402
from scanner.aws.settings import AwsSettings  # noqa: E402
from scanner.iam.config import IamConfig  # noqa: E402
from scanner.iam.enrich import enrich_keys  # noqa: E402

ROLE = "keysweep-readonly"
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/keysweep-bench",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/keysweep-bench",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **ENV},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto_server did not start")


def seed(url: str, keys: int, accounts: int) -> list[str]:
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 3})

    def client(service: str, **credentials: str) -> object:
        return boto3.client(service, endpoint_url=url, region_name="us-east-1", config=config, **credentials)

    org: object = client("organizations")
    org.create_organization(FeatureSet="ALL")  # type: ignore[attr-defined]
    ids = ["123456789012"]
    for n in range(accounts - 1):
        made = org.create_account(AccountName=f"acct{n}", Email=f"acct{n}@keysweep.invalid")  # type: ignore[attr-defined]
        ids.append(made["CreateAccountStatus"]["AccountId"])
    sts: object = client("sts")
    key_ids: list[str] = []
    per_account = keys // accounts
    from concurrent.futures import ThreadPoolExecutor

    for account in ids:
        if account == "123456789012":
            iam: object = client("iam")
        else:
            answer = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seed")  # type: ignore[attr-defined]
            creds = answer["Credentials"]
            iam = client(
                "iam",
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
            iam.create_role(
                RoleName=ROLE, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
            )  # type: ignore[attr-defined]

        def user(n: int, iam: object = iam, account: str = account) -> list[str]:
            name = f"user{n}"
            iam.create_user(UserName=name, Tags=[{"Key": "owner", "Value": f"{name}@{account}.example"}])  # type: ignore[attr-defined]
            return [iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(2)]  # type: ignore[attr-defined]

        with ThreadPoolExecutor(8) as pool:
            for made in pool.map(user, range(per_account // 2)):
                key_ids.extend(made)
    return key_ids


async def enrich(key_ids: list[str], url: str) -> tuple[float, int, Counter[str], tuple[str, ...]]:
    settings = replace(AwsSettings(), endpoint_url=url, max_workers=32, per_account_concurrency=8)
    config = IamConfig(role_name=ROLE, aws=settings)
    started = time.perf_counter()
    run = await enrich_keys(key_ids, config, now=datetime.now(UTC), clients=AwsClients(settings))
    elapsed = time.perf_counter() - started
    return elapsed, run.calls, Counter(r.state.value for r in run.results.values()), run.problems


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to tell whose CPU the wall time is."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(ENV)
    server, url = start_moto()
    try:
        started = time.perf_counter()
        key_ids = seed(url, args.keys, args.accounts)
        print(
            f"seeded {len(key_ids)} key ids in {args.accounts} accounts"
            f" in {time.perf_counter() - started:.1f} s"
        )
        times = []
        for round_number in range(1, args.rounds + 1):
            server_cpu, own_cpu = cpu_seconds(server.pid), time.process_time()
            elapsed, calls, states, problems = asyncio.run(enrich(key_ids, url))
            server_cpu, own_cpu = cpu_seconds(server.pid) - server_cpu, time.process_time() - own_cpu
            times.append(elapsed)
            print(
                f"round {round_number}: {elapsed:.2f} s, {calls} AWS calls, states {dict(states)};"
                f" CPU: moto server {server_cpu:.1f} s, keysweep {own_cpu:.1f} s"
            )
            for problem in problems:
                print(f"  problem: {problem}")
        print(
            f"median wall time: {statistics.median(times):.2f} s for {len(key_ids)} key ids (target < 10 s)"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
