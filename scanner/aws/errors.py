"""What a failed AWS call means, as a value: a kind a program can act on and a sentence a person can read.

Failure is a state, never silence: a call that is denied, throttled past its retries or cannot reach AWS
becomes a `Failure`, and whoever asked records it (a key whose state is `unknown`, with this reason), so a
report never shows something as checked when it was not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)


class AwsError(Exception):
    """AWS cannot be used at all (no credentials, an unknown profile). The message is a full sentence."""


class FailureKind(StrEnum):
    DENIED = "denied"  # missing permission, or a trust policy / external id refusing the role
    THROTTLED = "throttled"  # still throttled after every retry
    NOT_FOUND = "not-found"
    INVALID_CREDENTIALS = "invalid-credentials"  # the credentials used are unknown to AWS or wrong
    NO_CREDENTIALS = "no-credentials"
    UNREACHABLE = "unreachable"  # network, endpoint, timeout
    ERROR = "error"  # anything else AWS answered


# Error codes, by kind. AWS services spell the same thing several ways.
_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AWSOrganizationsNotInUseException",
        "AccountNotFoundException",
        "RegionDisabledException",
    }
)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
_NOT_FOUND = frozenset({"NoSuchEntity", "NoSuchEntityException", "NotFoundException"})
_INVALID_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
    }
)


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed call: what kind, which action (`iam:ListAccessKeys`), where, and AWS's own words."""

    kind: FailureKind
    action: str
    code: str
    message: str
    where: str = ""

    @property
    def reason(self) -> str:
        """`iam:ListAccessKeys was denied in account 111122223333 (AccessDenied: ...)`."""
        verb = {
            FailureKind.DENIED: "was denied",
            FailureKind.THROTTLED: "was still throttled after every retry",
            FailureKind.NOT_FOUND: "found nothing",
            FailureKind.INVALID_CREDENTIALS: "refused the credentials",
            FailureKind.NO_CREDENTIALS: "had no credentials to use",
            FailureKind.UNREACHABLE: "could not reach AWS",
            FailureKind.ERROR: "failed",
        }[self.kind]
        where = f" {self.where}" if self.where else ""
        detail = f"{self.code}: {self.message}" if self.message else self.code
        return f"{self.action} {verb}{where} ({detail.rstrip('.')})"


class AwsCallFailed(Exception):
    """Raised inside the AWS layer to carry a `Failure` up to whoever records it."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def failure_of(exc: BaseException, action: str, where: str = "") -> Failure:
    """Classify an exception raised by a boto3 call."""
    if isinstance(exc, AwsCallFailed):
        return exc.failure
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _THROTTLED or status == 429:
            kind = FailureKind.THROTTLED
            attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts")
            if attempts is not None:
                message = f"{message} (gave up after {int(attempts) + 1} attempts)".strip()
        elif code in _DENIED or (status == 403 and code not in _INVALID_CREDENTIALS):
            kind = FailureKind.DENIED
        elif code in _NOT_FOUND:
            kind = FailureKind.NOT_FOUND
        elif code in _INVALID_CREDENTIALS:
            kind = FailureKind.INVALID_CREDENTIALS
        else:
            kind = FailureKind.ERROR
        return Failure(kind, action, code, message, where)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return Failure(FailureKind.NO_CREDENTIALS, action, type(exc).__name__, str(exc), where)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return Failure(FailureKind.UNREACHABLE, action, type(exc).__name__, str(exc), where)
    if isinstance(exc, ProfileNotFound | NoRegionError):
        return Failure(FailureKind.NO_CREDENTIALS, action, type(exc).__name__, str(exc), where)
    if isinstance(exc, BotoCoreError | OSError):
        return Failure(FailureKind.UNREACHABLE, action, type(exc).__name__, str(exc), where)
    return Failure(FailureKind.ERROR, action, type(exc).__name__, str(exc), where)
