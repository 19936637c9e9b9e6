"""Shared AWS plumbing: failures as values, roles per account, Organizations paging, bounded concurrency.

botocore's Stubber answers here (no network at all); the moto-backed tests live in tests/iam.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from scanner.aws.accounts import RoleAccess, organization_accounts
from scanner.aws.errors import AwsCallFailed, FailureKind, failure_of
from scanner.aws.runner import AwsRunner, RateLimiter
from scanner.aws.session import AwsClients
from scanner.aws.settings import AwsSettings


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> AwsClients:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return AwsClients(AwsSettings(endpoint_url="http://127.0.0.1:9", max_attempts=1))


def client_error(code: str, status: int = 400, retries: int | None = None) -> ClientError:
    meta: dict[str, object] = {"HTTPStatusCode": status}
    if retries is not None:
        meta["RetryAttempts"] = retries
    return ClientError({"Error": {"Code": code, "Message": "msg"}, "ResponseMetadata": meta}, "Op")  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (client_error("AccessDenied", 403), FailureKind.DENIED),
        (client_error("AccessDeniedException"), FailureKind.DENIED),
        (client_error("Throttling", 400, retries=5), FailureKind.THROTTLED),
        (client_error("TooManyRequestsException", 429), FailureKind.THROTTLED),
        (client_error("NoSuchEntity", 404), FailureKind.NOT_FOUND),
        (client_error("InvalidClientTokenId", 403), FailureKind.INVALID_CREDENTIALS),
        (client_error("ServiceFailure", 500), FailureKind.ERROR),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), FailureKind.UNREACHABLE),
    ],
)
def test_failures_are_classified(error: Exception, kind: FailureKind) -> None:
    failure = failure_of(error, "iam:ListAccessKeys", "in account 111122223333")
    assert failure.kind is kind
    assert failure.reason.startswith("iam:ListAccessKeys ") and "111122223333" in failure.reason


def test_throttling_reason_counts_attempts() -> None:
    assert "gave up after 6 attempts" in failure_of(client_error("Throttling", retries=5), "x").reason


def test_role_access_assumes_once_per_account_with_external_id(clients: AwsClients) -> None:
    sts = clients.client("sts")
    access = RoleAccess(clients, "ro", external_id="ext-1", caller_account="111111111111")
    with Stubber(sts) as stub:
        stub.add_response(
            "assume_role",
            {
                "Credentials": {
                    "AccessKeyId": "ASIA" + "Q7RT3ZK5MN2WX4PA",  # assembled: not a leak to report
                    "SecretAccessKey": "s" * 40,
                    "SessionToken": "token",
                    "Expiration": "2030-01-01T00:00:00Z",
                }
            },
            {
                "RoleArn": "arn:aws:iam::222222222222:role/ro",
                "RoleSessionName": "keysweep",
                "DurationSeconds": 3600,
                "ExternalId": "ext-1",
            },
        )
        stub.add_client_error("assume_role", "AccessDenied", "not allowed", 403)
        first = access.credentials("222222222222")
        assert first is not None and first.session_token == "token" and "s" * 40 not in repr(first)
        assert access.credentials("222222222222") is first  # cached: no second call
        assert access.credentials("111111111111") is None  # the caller's own account: its credentials
        for _ in range(2):  # refused once, remembered: one call
            with pytest.raises(AwsCallFailed) as refused:
                access.credentials("333333333333")
            assert refused.value.failure.kind is FailureKind.DENIED
        stub.assert_no_pending_responses()


def test_without_a_role_only_the_callers_account(clients: AwsClients) -> None:
    access = RoleAccess(clients, "", caller_account="111111111111")
    assert access.credentials("111111111111") is None
    with pytest.raises(AwsCallFailed, match="no role to assume is configured"):
        access.credentials("222222222222")


def test_organization_accounts_are_paged(clients: AwsClients) -> None:
    org = clients.client("organizations")
    with Stubber(org) as stub:
        stub.add_response(
            "list_accounts",
            {"Accounts": [{"Id": "111111111111", "Name": "a", "Status": "ACTIVE"}], "NextToken": "n"},
            {},
        )
        stub.add_response(
            "list_accounts",
            {"Accounts": [{"Id": "222222222222", "Name": "b", "Status": "SUSPENDED"}]},
            {"NextToken": "n"},
        )
        accounts = organization_accounts(clients)
    assert [(a.id, a.name, a.status, a.source) for a in accounts] == [
        ("111111111111", "a", "ACTIVE", "organization"),
        ("222222222222", "b", "SUSPENDED", "organization"),
    ]


def test_runner_bounds_calls_per_account() -> None:
    running: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}
    lock = threading.Lock()

    def work(scope: str) -> None:
        with lock:
            running[scope] += 1
            peak[scope] = max(peak[scope], running[scope])
        time.sleep(0.02)
        with lock:
            running[scope] -= 1

    async def main() -> None:
        with AwsRunner(max_workers=16, per_scope=3) as runner:
            await asyncio.gather(*(runner.run(scope, work, scope) for scope in "ab" * 20))
            assert runner.calls == 40

    asyncio.run(main())
    assert peak == {"a": 3, "b": 3}


def test_rate_limiter_spreads_starts() -> None:
    async def main() -> float:
        limiter = RateLimiter(20.0)
        started = time.monotonic()
        for _ in range(5):
            await limiter.wait()
        return time.monotonic() - started

    assert asyncio.run(main()) >= 0.19
