"""Fixtures for the IAM tests: a seeded moto world behind a recording, fault-injecting proxy (loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from scanner.aws.settings import AwsSettings
from scanner.iam.config import IamConfig
from tests.iam.moto_world import EXTERNAL_ID, ROLE, FaultProxy, World, fake_aws_env, seed, standard_rules


def start_world() -> tuple[World, object]:
    import requests
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    requests.post(f"{moto_url}/moto-api/reset", timeout=30)
    proxy = FaultProxy(moto_url)
    return World(moto_url, proxy), server


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    world, server = start_world()
    try:
        with fake_aws_env(world.proxy.url):
            seed(world)
            standard_rules(world)
            baseline = list(world.proxy.rules)
            world.baseline_rules = baseline  # type: ignore[attr-defined]
            yield world
    finally:
        world.proxy.stop()
        server.stop()  # type: ignore[attr-defined]


@pytest.fixture
def aws(world: World) -> Iterator[World]:
    """The world with its proxy's log cleared and only the standard rules, inside the fake environment."""
    world.proxy.calls.clear()
    world.proxy.rules[:] = list(world.baseline_rules)  # type: ignore[attr-defined]
    with fake_aws_env(world.proxy.url):
        yield world
    world.proxy.rules[:] = list(world.baseline_rules)  # type: ignore[attr-defined]


@pytest.fixture
def iam_config(world: World) -> IamConfig:
    return IamConfig(
        role_name=ROLE,
        external_id=EXTERNAL_ID,
        organization=True,
        owner_tag_keys=("owner", "email", "contact"),
        aws=replace(AwsSettings(), endpoint_url=world.proxy.url, retry_mode="standard", max_attempts=3),
    )
