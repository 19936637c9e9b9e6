"""`--verify`: the only use of a leaked secret, proven absent when off, rate-limited, never for canaries.

The recording proxy sees which access key signed every request, so "no call with the leaked key" is a
fact read off the wire, not an assumption. moto without IAM authorization accepts any signature, so the
wrong-secret and deleted-key answers are the proxy's, as STS gives them (see moto_world.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from scanner.aws.session import AwsClients
from scanner.iam.canaries import THINKST_ACCOUNTS
from scanner.iam.config import IamConfig
from scanner.iam.enrich import EnrichmentRun, enrich_keys
from scanner.iam.model import KeyState, Liveness
from tests.iam.moto_world import Answer, Call, World, fake_key_id, iam_error

pytestmark = pytest.mark.timeout(120)


def run(config: IamConfig, secrets: dict[str, str], verify: bool, **kwargs: object) -> EnrichmentRun:
    kwargs.setdefault("now", datetime.now(UTC))
    return asyncio.run(
        enrich_keys(
            list(secrets), config, secrets=secrets, verify=verify, clients=AwsClients(config.aws), **kwargs
        )  # type: ignore[arg-type]
    )


def leaked_key_calls(world: World, secrets: dict[str, str]) -> list[Call]:
    return [c for c in world.proxy.calls if c.access_key in secrets]


def test_verify_off_makes_no_call_with_a_leaked_key(aws: World, iam_config: IamConfig) -> None:
    secrets = {k.id: k.secret for k in aws.keys.values()}
    result = run(iam_config, secrets, verify=False)
    assert leaked_key_calls(aws, secrets) == []
    assert all(c.access_key == "testing" or c.access_key.startswith("ASIA") for c in aws.proxy.calls)
    assert all(r.verification is None for r in result.results.values())


def test_verify_on(aws: World, iam_config: IamConfig) -> None:
    live, deleted, wrong = aws.keys["dev_active"], aws.keys["deleted"], aws.keys["used_after"]
    canary = fake_key_id(sorted(THINKST_ACCOUNTS)[2])
    temporary = "ASIA" + live.id[4:]
    secrets = {
        live.id: live.secret,
        deleted.id: deleted.secret,
        wrong.id: "x" * 40,
        canary: "y" * 40,
        temporary: live.secret,
    }
    aws.foreign[temporary] = live.account

    def sts_checks(call: Call) -> Answer | None:
        if call.action != "GetCallerIdentity":
            return None
        if call.access_key == deleted.id:
            return iam_error(
                "InvalidClientTokenId", "The security token included in the request is invalid.", 403
            )
        if call.access_key == wrong.id:
            return iam_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                403,
            )
        return None

    aws.proxy.rules.insert(0, sts_checks)
    result = run(replace(iam_config, verify_rate=0), secrets, verify=True)
    checks = {key: result.results[key].verification for key in secrets}
    assert checks[live.id] is not None and checks[live.id].result is Liveness.LIVE  # type: ignore[union-attr]
    assert checks[live.id].arn == f"arn:aws:iam::{live.account}:user/dave"  # type: ignore[union-attr]
    assert result.results[live.id].live is True
    assert checks[deleted.id].result is Liveness.INVALID  # type: ignore[union-attr]
    assert checks[wrong.id].result is Liveness.WRONG_SECRET  # type: ignore[union-attr]
    assert result.results[wrong.id].live is False
    assert checks[canary] is None and result.results[canary].state is KeyState.CANARY
    assert checks[temporary].result is Liveness.NOT_ATTEMPTED  # type: ignore[union-attr]
    signed = {c.access_key for c in aws.proxy.actions("GetCallerIdentity")}
    assert {live.id, deleted.id, wrong.id} <= signed
    assert canary not in signed and temporary not in signed
    assert not [c for c in aws.proxy.calls if c.access_key == canary or canary in c.params.values()]
    # The leaked key was used for GetCallerIdentity only.
    assert {c.action for c in leaked_key_calls(aws, {live.id: ""})} == {"GetCallerIdentity"}
    assert result.verified == 4


def test_verify_is_rate_limited_and_cached(aws: World, iam_config: IamConfig) -> None:
    keys = [aws.keys[label] for label in ("dev_active", "throttled", "management")]
    secrets = {k.id: k.secret for k in keys}
    config = replace(iam_config, verify_rate=4.0)
    started = time.monotonic()
    first = run(config, secrets, verify=True)
    assert time.monotonic() - started >= 0.45  # three checks at 4 per second: 0.5 s at least
    assert all(first.results[k].verification.result is Liveness.LIVE for k in secrets)  # type: ignore[union-attr]
    aws.proxy.calls.clear()
    again = run(
        config, secrets, verify=True, cache=first.results, now=datetime.now(UTC) + timedelta(minutes=5)
    )
    assert leaked_key_calls(aws, secrets) == [] and again.verified == 0
    assert all(again.results[k].verification == first.results[k].verification for k in secrets)
