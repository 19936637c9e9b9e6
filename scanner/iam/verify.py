"""`--verify`: prove whether a leaked key works, with the leaked key itself. Off by default.

This is the one call keysweep ever makes with a leaked secret: `sts:GetCallerIdentity`, which needs no
permission and changes nothing, but is recorded in the key owner's CloudTrail (and marks the key as used
in IAM's last-used data, which then shows our check as its last use). So it is opt-in, rate-limited
(`[iam] verify_rate`), never done for canary keys, and its result (never the secret) is cached with the
rest of the key's enrichment for `cache_ttl`.

Results: `live` (AWS accepted the key: the ARN says whose it is), `invalid` (AWS does not know the key
id), `wrong-secret` (the key id exists but the secret found with it is not its secret), `unknown` (the
check itself failed: throttled, unreachable), `not-attempted` (a temporary `ASIA` key without its session
token, or no secret found).
"""

from __future__ import annotations

from datetime import datetime

from scanner.aws.errors import FailureKind, failure_of
from scanner.aws.session import AwsClients, Credentials
from scanner.iam.model import Liveness, Verification


def verify_key(clients: AwsClients, key_id: str, secret: str, now: datetime) -> Verification:
    """Call sts:GetCallerIdentity with the leaked key. Blocking: run it in the AWS thread pool."""
    if key_id.startswith("ASIA"):
        return Verification(
            Liveness.NOT_ATTEMPTED,
            now,
            detail="a temporary (ASIA) key cannot be checked without its session token, which was not found",
        )
    client = clients.one_off_client("sts", Credentials(key_id, secret))
    try:
        answer = client.get_caller_identity()
    except Exception as exc:
        failure = failure_of(exc, "sts:GetCallerIdentity", "with the leaked key")
        if failure.code == "SignatureDoesNotMatch":
            return Verification(Liveness.WRONG_SECRET, now, detail=failure.reason)
        if failure.kind is FailureKind.INVALID_CREDENTIALS:
            return Verification(Liveness.INVALID, now, detail=failure.reason)
        return Verification(Liveness.UNKNOWN, now, detail=failure.reason)
    finally:
        close = getattr(client, "close", None)
        if close is not None:
            close()
    return Verification(Liveness.LIVE, now, arn=str(answer.get("Arn", "")) or None, detail=None)
