"""How to reach AWS: profile, region, endpoint, retry policy, timeouts, concurrency. A light module
(botocore is imported only when a client configuration is built), so reading a configuration file does
not load boto3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.config import Config

RETRY_MODES = ("standard", "adaptive", "legacy")
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class AwsSettings:
    """How to reach AWS. `None` means boto3's own default (environment, shared config files)."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    retry_mode: str = "adaptive"
    max_attempts: int = 6
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    max_workers: int = 16  # threads running boto3 calls at once, over every account
    per_account_concurrency: int = 4  # calls at once into one account (IAM throttles per account)

    def botocore_config(self, *, max_attempts: int | None = None) -> Config:
        from botocore.config import Config

        return Config(
            retries={"mode": self.retry_mode, "max_attempts": max_attempts or self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=max(10, self.max_workers),
            user_agent_extra="keysweep",
        )
