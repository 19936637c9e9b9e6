"""AWS clients: one boto3 session (profile, the normal credential chain), botocore retry settings, endpoint.

Every AWS call keysweep makes goes through `AwsClients`, so the endpoint (`endpoint_url`, else boto3's own
`AWS_ENDPOINT_URL`), the retry policy (botocore's `standard` or `adaptive` mode: exponential backoff with
jitter on throttling; `adaptive` also slows the client down while AWS throttles it) and the timeouts are
the same everywhere. No module keeps a client at import time: callers are handed an `AwsClients`, and tests
point it at a local endpoint.

boto3 sessions are not thread-safe; clients are. Clients are made under a lock and reused.

Timestamps in answers: the usual ISO 8601 UTC form (`2026-11-23T18:35:05Z`) is parsed with
`datetime.fromisoformat` (~1 µs) instead of botocore's dateutil parser (~27 µs), which took a fifth of the
client's CPU when listing 5,000 users' keys (several timestamps per user); same instant, any other form
goes to botocore's own parser.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ProfileNotFound
from botocore.utils import parse_timestamp
from dateutil.tz import tzutc

from scanner.aws.errors import AwsError
from scanner.aws.settings import DEFAULT_REGION, RETRY_MODES, AwsSettings

__all__ = ["DEFAULT_REGION", "RETRY_MODES", "AwsClients", "AwsSettings", "Credentials"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """Temporary credentials (from sts:AssumeRole). Held in memory only."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print a secret by accident
        return f"Credentials(access_key_id={self.access_key_id!r}, ...)"


def fast_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, with a fast path for `YYYY-MM-DDTHH:MM:SS[.fff]Z`."""
    if isinstance(value, str) and len(value) >= 20 and value[-1] == "Z" and value[10] == "T":
        try:
            return datetime.fromisoformat(value[:-1]).replace(tzinfo=tzutc())
        except ValueError:
            pass
    return parse_timestamp(value)


class AwsClients:
    """boto3 clients from one session: the caller's (profile / credential chain), or given credentials."""

    def __init__(self, settings: AwsSettings | None = None) -> None:
        self.settings = settings or AwsSettings()
        try:
            core = botocore.session.get_session()
            core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=fast_timestamp)
            self._session = boto3.session.Session(
                profile_name=self.settings.profile, region_name=self.settings.region, botocore_session=core
            )
        except ProfileNotFound as exc:
            raise AwsError(f"The AWS profile {self.settings.profile!r} does not exist: {exc}.") from exc
        self._region = self.settings.region or self._session.region_name or DEFAULT_REGION
        self._config = self.settings.botocore_config()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None], Any] = {}

    @property
    def region(self) -> str:
        return self._region

    def client(self, service: str, credentials: Credentials | None = None) -> Any:
        """A client for `service`, with the caller's credentials or the given ones; reused."""
        key = (service, credentials.access_key_id if credentials else None)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._make(service, credentials, self._config)
                self._clients[key] = client
            return client

    def one_off_client(self, service: str, credentials: Credentials, *, max_attempts: int = 2) -> Any:
        """A client that is not kept (leaked credentials under verification): few retries, nothing cached."""
        with self._lock:
            return self._make(service, credentials, self.settings.botocore_config(max_attempts=max_attempts))

    def _make(self, service: str, credentials: Credentials | None, config: Config) -> Any:
        kwargs: dict[str, Any] = {"region_name": self._region, "config": config}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        if credentials is not None:
            kwargs.update(
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            )
        return self._session.client(service, **kwargs)
