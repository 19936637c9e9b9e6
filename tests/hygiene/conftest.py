"""Fixtures for the hygiene tests: the seeded Organization (tests/hygiene/hygiene_world.py) on loopback.

One world for the whole hygiene directory (package scope: torn down after its last test; seeding
loads moto's managed policies per account: seconds);
tests that change it (remediation) create their own users and remove them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from scanner.aws.settings import AwsSettings
from scanner.iam.config import IamConfig
from tests.hygiene.hygiene_world import HygieneWorld, fake_aws_env, running
from tests.iam.moto_world import EXTERNAL_ID, ROLE


@pytest.fixture(scope="package")
def hworld() -> Iterator[HygieneWorld]:
    yield from running()


@pytest.fixture
def haws(hworld: HygieneWorld) -> Iterator[HygieneWorld]:
    """The world with only its standard proxy rules, inside the fake AWS environment."""
    hworld.proxy.calls.clear()
    hworld.proxy.rules[:] = list(hworld.baseline)  # type: ignore[attr-defined]
    with fake_aws_env(hworld.url):
        yield hworld
    hworld.proxy.rules[:] = list(hworld.baseline)  # type: ignore[attr-defined]


@pytest.fixture
def hiam(hworld: HygieneWorld) -> IamConfig:
    return IamConfig(
        role_name=ROLE,
        external_id=EXTERNAL_ID,
        organization=True,
        aws=replace(AwsSettings(), endpoint_url=hworld.url, retry_mode="standard", max_attempts=2),
    )
