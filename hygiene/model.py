"""The values of the hygiene module: the inventory snapshot (frozen), check metadata and results.

An `Inventory` is what `hygiene.inventory.collect` read from AWS at one moment. Every read that failed is
kept as a `Gap` (topic + reason) on the account it concerns: a check that needs that topic answers ERROR,
so a failed read never looks like a clean account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    MUTED = "MUTED"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self.value]


_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


class Topic(StrEnum):
    """What one account-wide or per-entity read tells; a failed read is a `Gap` on its topic."""

    ACCOUNT = "account"  # entering the account at all (sts:AssumeRole)
    USERS = "users"  # iam:ListUsers
    AUTHORIZATION = "authorization"  # iam:GetAccountAuthorizationDetails: tags, groups, policies
    CREDENTIAL_REPORT = "credential-report"  # console access, password use, root keys
    SUMMARY = "summary"  # iam:GetAccountSummary: root MFA, root keys
    MFA_DEVICES = "mfa-devices"  # iam:ListVirtualMFADevices / ListMFADevices
    PASSWORD_POLICY = "password-policy"
    ACCESS_KEYS = "access-keys"  # iam:ListAccessKeys (per user)
    KEY_LAST_USED = "key-last-used"  # iam:GetAccessKeyLastUsed (per key)
    FINDINGS = "findings"  # the findings database (leaked keys)


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True, slots=True)
class Gap:
    topic: Topic
    reason: str
    subject: str = ""  # a user or key the read was about ("" for the whole account)


@dataclass(frozen=True, slots=True)
class AccessKey:
    id: str
    user: str
    status: str  # Active | Inactive
    created_at: datetime | None
    last_used_at: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "Active"


@dataclass(frozen=True, slots=True)
class MfaDevice:
    serial: str
    virtual: bool


@dataclass(frozen=True, slots=True)
class User:
    name: str
    arn: str
    created_at: datetime | None
    tags: Mapping[str, str] = field(default_factory=frozen_map)
    groups: tuple[str, ...] = ()
    admin_via: tuple[str, ...] | None = None  # None: unknown (authorization details not read)
    console: bool | None = None  # a login profile (password); None: unknown
    password_last_used: datetime | None = None
    mfa_devices: tuple[MfaDevice, ...] | None = None  # None: unknown
    keys: tuple[AccessKey, ...] | None = None  # None: could not be listed (see the account's gaps)

    @property
    def mfa(self) -> bool | None:
        return None if self.mfa_devices is None else bool(self.mfa_devices)


@dataclass(frozen=True, slots=True)
class RootKeySlot:
    """One of the root user's two access key slots, as the credential report shows it."""

    slot: int
    active: bool
    last_rotated: datetime | None
    last_used_at: datetime | None
    last_used_service: str | None


@dataclass(frozen=True, slots=True)
class Root:
    arn: str
    keys_present: int | None = None  # AccountAccessKeysPresent (summary)
    mfa_enabled: bool | None = None  # AccountMFAEnabled (summary)
    hardware_mfa: bool | None = None  # MFA on, and no virtual device assigned to root
    key_slots: tuple[RootKeySlot, ...] | None = None  # from the credential report's <root_account> row
    password_last_used: datetime | None = None
    last_used_at: datetime | None = None  # the latest of password and key use


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    minimum_length: int = 0
    require_symbols: bool = False
    require_numbers: bool = False
    require_uppercase: bool = False
    require_lowercase: bool = False
    max_age_days: int | None = None
    reuse_prevention: int | None = None
    hard_expiry: bool = False


@dataclass(frozen=True, slots=True)
class Leak:
    """A key id the findings database holds: where it was found (paths), since when, triage status."""

    key_id: str
    fingerprint: str
    first_seen_at: datetime
    status: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountInventory:
    id: str
    name: str = ""
    users: tuple[User, ...] = ()
    root: Root | None = None
    password_policy: PasswordPolicy | None = None  # None with no PASSWORD_POLICY gap: no policy set
    gaps: tuple[Gap, ...] = ()

    def gap(self, topic: Topic, subject: str = "") -> Gap | None:
        """The failed read of `topic` (for `subject`, or account-wide), if any."""
        for gap in self.gaps:
            if gap.topic is Topic.ACCOUNT or (gap.topic is topic and gap.subject in ("", subject)):
                return gap
        return None

    @property
    def unreachable(self) -> Gap | None:
        return next((g for g in self.gaps if g.topic is Topic.ACCOUNT), None)

    def access_keys(self) -> list[AccessKey]:
        return [k for u in self.users for k in (u.keys or ())]


@dataclass(frozen=True, slots=True)
class Inventory:
    taken_at: datetime
    accounts: tuple[AccountInventory, ...]
    leaks: Mapping[str, Leak] = field(default_factory=frozen_map)  # key id -> leak
    leak_gap: str | None = None  # the findings database could not be read
    problems: tuple[str, ...] = ()  # failures before any account (e.g. listing the Organization)

    def with_leaks(self, leaks: Mapping[str, Leak], gap: str | None = None) -> Inventory:
        return replace(self, leaks=frozen_map(leaks), leak_gap=gap)


@dataclass(frozen=True, slots=True)
class CheckMeta:
    """A check's metadata file (`checks/<id>.toml`), validated at load."""

    id: str
    title: str
    severity: Severity
    cis: str
    security_hub: str
    risk: str
    remediation: str
    resource_kind: str  # account | root | user | key
    thresholds: tuple[str, ...] = ()  # the config keys the check reads


@dataclass(frozen=True, slots=True)
class CheckResult:
    check_id: str
    account_id: str
    resource: str  # an ARN, or the key id for keys
    status: Status
    message: str  # one sentence
    severity: Severity
    cis: str = ""
    security_hub: str = ""
    user: str | None = None  # the IAM user (or "root") the result is about
    key_id: str | None = None
    owner: str | None = None  # filled by the owner resolution (hygiene.owners)
    mute_reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=frozen_map)

    def record(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "status": str(self.status),
            "severity": str(self.severity),
            "account_id": self.account_id,
            "resource": self.resource,
            "user": self.user,
            "key_id": self.key_id,
            "owner": self.owner,
            "message": self.message,
            "cis": self.cis,
            "security_hub": self.security_hub,
            "mute_reason": self.mute_reason,
            "details": dict(self.details),
        }
