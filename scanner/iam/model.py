"""The values of IAM enrichment: who owns a key, what state it is in, when it leaked, whether it is live.

`KeyEnrichment` is one key id's facts (stored in the database keyed by key id: one key, many findings);
`Timeline` sets them against the key's first exposure; `Verification` is what `--verify` learned. Records
(`as_record`) are plain JSON values: the `iam` field of every report, and the stored form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class Ownership(StrEnum):
    OURS = "ours"  # an account of ours (Organization or configured)
    FOREIGN = "foreign"  # a third party's account, or one we do not know
    CANARY = "canary"  # a known canary-token account: never contacted
    UNKNOWN = "unknown"  # could not be told (see reason)


class KeyState(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DELETED = "deleted"  # the owning account (ours) has no such key any more
    FOREIGN = "foreign"  # not ours: nothing more can be known without touching the key
    CANARY = "canary"
    UNKNOWN = "unknown"  # could not be checked: `reason` says why


class TimelineState(StrEnum):
    USED_AFTER_LEAK = "used-after-leak"  # the most urgent state there is
    NOT_USED_SINCE_LEAK = "leaked-not-used-since"  # used before it was exposed, not since
    NEVER_USED = "never-used"
    CREATED_AFTER_EXPOSURE = "created-after-exposure"  # the dates disagree (a back-dated commit?)
    UNKNOWN = "unknown"  # no usage data (not ours, deleted, or not checked)


class Liveness(StrEnum):
    LIVE = "live"  # sts:GetCallerIdentity accepted the leaked key and secret
    INVALID = "invalid"  # AWS does not know the key id (deleted, or never issued)
    WRONG_SECRET = "wrong-secret"  # the key id exists, but what was found with it is not its secret
    UNKNOWN = "unknown"  # the check failed (throttled, unreachable): see detail
    NOT_ATTEMPTED = "not-attempted"  # canary, no secret, temporary key without its session token


# How urgent a timeline state is, most urgent first (text reports sort and colour by it).
URGENCY = {
    TimelineState.USED_AFTER_LEAK: 0,
    TimelineState.CREATED_AFTER_EXPOSURE: 1,
    TimelineState.UNKNOWN: 2,
    TimelineState.NOT_USED_SINCE_LEAK: 3,
    TimelineState.NEVER_USED: 4,
}


@dataclass(frozen=True, slots=True)
class Verification:
    result: Liveness
    at: datetime
    arn: str | None = None
    detail: str | None = None

    @property
    def live(self) -> bool | None:
        if self.result is Liveness.LIVE:
            return True
        if self.result in (Liveness.INVALID, Liveness.WRONG_SECRET):
            return False
        return None

    def as_record(self) -> dict[str, Any]:
        return {
            "result": self.result.value,
            "live": self.live,
            "arn": self.arn,
            "detail": self.detail,
            "at": _iso(self.at),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Verification:
        return cls(
            Liveness(record["result"]),
            _parse(record["at"]) or datetime.min,
            record.get("arn"),
            record.get("detail"),
        )


@dataclass(frozen=True, slots=True)
class Timeline:
    state: TimelineState
    first_exposure: datetime | None
    exposure_source: str | None  # "commit", "first-seen", "scan"
    detail: str

    def as_record(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "first_exposure": _iso(self.first_exposure),
            "exposure_source": self.exposure_source,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class KeyEnrichment:
    """What AWS (and the key id itself) say about one access key id."""

    key_id: str
    ownership: Ownership
    state: KeyState
    fetched_at: datetime
    kind: str = ""
    account_id: str | None = None
    account_name: str | None = None
    account_source: str | None = None  # how the account is known
    decode_note: str | None = None  # why the id could not be decoded offline
    reason: str | None = None  # why the state is unknown (or a caveat on it)
    canary: str | None = None  # who issues canary keys from this account
    principal: str | None = None  # "user" or "root"
    user_name: str | None = None
    user_arn: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None
    contacts: tuple[tuple[str, str], ...] = ()  # (tag key, value), in the configured order
    console_access: bool | None = None
    mfa: bool | None = None
    admin: bool | None = None
    admin_via: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()  # facts that could not be read, each with its reason
    verification: Verification | None = None
    calls: int = field(default=0, compare=False)  # AWS calls spent on it in this run (not stored)

    @property
    def owner(self) -> str | None:
        """Whom to contact: the first configured owner tag found on the user."""
        return self.contacts[0][1] if self.contacts else None

    @property
    def live(self) -> bool | None:
        """True: proven live by --verify, or Active in our account (and not disproven); False: proven
        dead (verify) or deleted/inactive; None: not known."""
        if self.verification is not None and self.verification.live is not None:
            return self.verification.live
        if self.state is KeyState.ACTIVE:
            return True
        if self.state in (KeyState.INACTIVE, KeyState.DELETED):
            return False
        return None

    def with_verification(self, verification: Verification | None) -> KeyEnrichment:
        return replace(self, verification=verification)

    def as_record(self, timeline: Timeline | None = None) -> dict[str, Any]:
        record: dict[str, Any] = {
            "key_id": self.key_id,
            "kind": self.kind,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "account_source": self.account_source,
            "decode_note": self.decode_note,
            "ownership": self.ownership.value,
            "state": self.state.value,
            "reason": self.reason,
            "canary": self.canary,
            "principal": self.principal,
            "user": self.user_name,
            "user_arn": self.user_arn,
            "owner": self.owner,
            "contacts": dict(self.contacts),
            "created_at": _iso(self.created_at),
            "last_used_at": _iso(self.last_used_at),
            "last_used_service": self.last_used_service,
            "last_used_region": self.last_used_region,
            "console_access": self.console_access,
            "mfa": self.mfa,
            "admin": self.admin,
            "admin_via": list(self.admin_via),
            "gaps": list(self.gaps),
            "live": self.live,
            "verification": self.verification.as_record() if self.verification else None,
            "fetched_at": _iso(self.fetched_at),
        }
        if timeline is not None:
            record["timeline"] = timeline.as_record()
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> KeyEnrichment:
        verification = record.get("verification")
        return cls(
            key_id=record["key_id"],
            ownership=Ownership(record["ownership"]),
            state=KeyState(record["state"]),
            fetched_at=_parse(record["fetched_at"]) or datetime.min,
            kind=record.get("kind") or "",
            account_id=record.get("account_id"),
            account_name=record.get("account_name"),
            account_source=record.get("account_source"),
            decode_note=record.get("decode_note"),
            reason=record.get("reason"),
            canary=record.get("canary"),
            principal=record.get("principal"),
            user_name=record.get("user"),
            user_arn=record.get("user_arn"),
            created_at=_parse(record.get("created_at")),
            last_used_at=_parse(record.get("last_used_at")),
            last_used_service=record.get("last_used_service"),
            last_used_region=record.get("last_used_region"),
            contacts=tuple((str(k), str(v)) for k, v in (record.get("contacts") or {}).items()),
            console_access=record.get("console_access"),
            mfa=record.get("mfa"),
            admin=record.get("admin"),
            admin_via=tuple(record.get("admin_via") or ()),
            gaps=tuple(record.get("gaps") or ()),
            verification=Verification.from_record(verification) if verification else None,
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
