"""Reading one of our accounts: who owns a key, its status, its last use, and the owner's exposure.

Per account, once per run (only for accounts that hold leaked keys), three account-wide reads:

    iam:GetAccountAuthorizationDetails   users with their tags, groups and policies; groups; local policies
    iam:GenerateCredentialReport / iam:GetCredentialReport   console password and MFA per user; root keys
    iam:GetAccountSummary                AccountAccessKeysPresent (does the root user have keys?)

Per key: `iam:GetAccessKeyLastUsed` (the owning user's name and the last use), then per user
`iam:ListAccessKeys` (the key's status and creation date). A key that is in no user's list is deleted,
unless the root user has keys (then it may be the root key, and the state says `unknown` rather than
claim `deleted`). Each account-wide read may fail on its own: the facts it would have given are listed
in `gaps` with the reason, and the rest is still reported.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from scanner.aws.accounts import RoleAccess
from scanner.aws.errors import AwsCallFailed, Failure, FailureKind, failure_of
from scanner.aws.runner import AwsRunner
from scanner.iam.model import KeyState

ROOT_NAMES = frozenset({"root", "<root_account>"})
ADMIN_POLICY_SUFFIX = ":policy/AdministratorAccess"
REPORT_POLLS = 10  # GetCredentialReport attempts while the report is being generated
REPORT_POLL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class UserFacts:
    name: str
    arn: str
    tags: Mapping[str, str]
    groups: tuple[str, ...]
    inline_documents: tuple[tuple[str, Any], ...]  # (policy name, document)
    attached: tuple[tuple[str, str], ...]  # (policy name, arn)


@dataclass(frozen=True, slots=True)
class GroupFacts:
    name: str
    inline_documents: tuple[tuple[str, Any], ...]
    attached: tuple[tuple[str, str], ...]


@dataclass
class AccountProfile:
    """The account-wide reads of one account; a read that failed leaves its field None and a gap."""

    account_id: str
    users: dict[str, UserFacts] | None = None
    groups: dict[str, GroupFacts] = field(default_factory=dict)
    local_policies: dict[str, Any] = field(default_factory=dict)  # arn -> default version document
    credential_rows: dict[str, dict[str, str]] | None = None  # user -> credential report row
    root_keys_present: int | None = None
    summary: dict[str, Any] | None = None  # iam:GetAccountSummary's SummaryMap (hygiene reads root MFA)
    gaps: dict[str, str] = field(default_factory=dict)  # topic -> reason


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """What our account says about one key."""

    state: KeyState
    reason: str | None = None
    principal: str | None = None
    user_name: str | None = None
    user_arn: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None
    found: bool = True  # False: GetAccessKeyLastUsed does not know the key in this account


def _document(value: Any) -> Any:
    """Policy documents come decoded from boto3; be safe with URL-encoded JSON text too."""
    if isinstance(value, str):
        try:
            return json.loads(unquote(value))
        except ValueError:
            return {}
    return value or {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def grants_everything(document: Any) -> bool:
    """An Allow of every action (`*` or `*:*`) on every resource, without conditions."""
    for statement in _as_list(_document(document).get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        if statement.get("Condition"):
            continue
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if any(a in ("*", "*:*") for a in actions) and "*" in resources:
            return True
    return False


def admin_via(profile: AccountProfile, user: UserFacts) -> tuple[str, ...]:
    """Why `user` has admin-level access: AdministratorAccess or a `*:*` policy, directly or via groups."""
    reasons: list[str] = []

    def check(where: str, inline: Sequence[tuple[str, Any]], attached: Sequence[tuple[str, str]]) -> None:
        for name, arn in attached:
            if arn.endswith(ADMIN_POLICY_SUFFIX) or grants_everything(profile.local_policies.get(arn)):
                reasons.append(f"{name} ({where})")
        for name, document in inline:
            if grants_everything(document):
                reasons.append(f"inline policy {name} allows *:* ({where})")

    check("attached to the user", user.inline_documents, user.attached)
    for group_name in user.groups:
        group = profile.groups.get(group_name)
        if group is not None:
            check(f"via group {group_name}", group.inline_documents, group.attached)
    return tuple(dict.fromkeys(reasons))


def _parse_time(value: Any) -> datetime | None:
    from scanner.iam.timeline import parse_moment

    if isinstance(value, str) and value in ("N/A", "no_information", "not_supported", ""):
        return None
    return parse_moment(value)


class AccountInspector:
    """Inspects keys in our accounts through `access`, with calls bounded by `runner` per account."""

    def __init__(self, access: RoleAccess, runner: AwsRunner) -> None:
        self.access = access
        self.runner = runner
        self._profiles: dict[str, asyncio.Task[AccountProfile]] = {}
        self._user_keys: dict[tuple[str, str], asyncio.Task[list[dict[str, Any]]]] = {}

    async def _call(self, account_id: str, service: str, action: str, method: str, **kwargs: Any) -> Any:
        def call() -> Any:
            client: Any = self.access.client(account_id, service)
            try:
                return getattr(client, method)(**kwargs)
            except AwsCallFailed:
                raise
            except Exception as exc:
                raise AwsCallFailed(failure_of(exc, action, f"in account {account_id}")) from exc

        return await self.runner.run(account_id, call)

    async def _pages(self, account_id: str, action: str, method: str, key: str, **kwargs: Any) -> list[Any]:
        """Every item of a paginated IAM list (one call per page, each within the account's limit)."""
        items: list[Any] = []
        marker: str | None = None
        while True:
            args = dict(kwargs)
            if marker:
                args["Marker"] = marker
            page = await self._call(account_id, "iam", action, method, **args)
            items.extend(page.get(key, []))
            if not page.get("IsTruncated"):
                return items
            marker = page.get("Marker")
            if not marker:
                return items

    # Account-wide reads

    def profile(self, account_id: str) -> asyncio.Task[AccountProfile]:
        task = self._profiles.get(account_id)
        if task is None:
            task = self._profiles[account_id] = asyncio.ensure_future(self._load_profile(account_id))
        return task

    async def _load_profile(self, account_id: str) -> AccountProfile:
        profile = AccountProfile(account_id)
        # Entering the account first: a refused role fails here once, not once per read.
        await self.runner.run(account_id, self.access.credentials, account_id)
        await asyncio.gather(
            self._load_authorization(profile),
            self._load_credential_report(profile),
            self._load_summary(profile),
        )
        return profile

    async def _load_authorization(self, profile: AccountProfile) -> None:
        account = profile.account_id
        try:
            users = await self._pages(
                account, "iam:GetAccountAuthorizationDetails", "get_account_authorization_details",
                "UserDetailList", Filter=["User"],
            )  # fmt: skip
            groups = await self._pages(
                account, "iam:GetAccountAuthorizationDetails", "get_account_authorization_details",
                "GroupDetailList", Filter=["Group"],
            )  # fmt: skip
            policies = await self._pages(
                account, "iam:GetAccountAuthorizationDetails", "get_account_authorization_details",
                "Policies", Filter=["LocalManagedPolicy"],
            )  # fmt: skip
        except AwsCallFailed as exc:
            profile.gaps["owner tags, groups and policies"] = exc.failure.reason
            return
        profile.users = {
            str(u["UserName"]): UserFacts(
                name=str(u["UserName"]),
                arn=str(u.get("Arn", "")),
                tags={str(t["Key"]): str(t["Value"]) for t in u.get("Tags", [])},
                groups=tuple(str(g) for g in u.get("GroupList", [])),
                inline_documents=tuple(
                    (str(p.get("PolicyName")), p.get("PolicyDocument")) for p in u.get("UserPolicyList", [])
                ),
                attached=tuple(
                    (str(p.get("PolicyName")), str(p.get("PolicyArn")))
                    for p in u.get("AttachedManagedPolicies", [])
                ),
            )
            for u in users
        }
        profile.groups = {
            str(g["GroupName"]): GroupFacts(
                name=str(g["GroupName"]),
                inline_documents=tuple(
                    (str(p.get("PolicyName")), p.get("PolicyDocument")) for p in g.get("GroupPolicyList", [])
                ),
                attached=tuple(
                    (str(p.get("PolicyName")), str(p.get("PolicyArn")))
                    for p in g.get("AttachedManagedPolicies", [])
                ),
            )
            for g in groups
        }
        for policy in policies:
            default = next(
                (v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None
            )
            if default is not None:
                profile.local_policies[str(policy.get("Arn"))] = default.get("Document")

    async def _load_credential_report(self, profile: AccountProfile) -> None:
        account = profile.account_id
        try:
            await self._call(account, "iam", "iam:GenerateCredentialReport", "generate_credential_report")
            content: bytes | None = None
            for _attempt in range(REPORT_POLLS):
                try:
                    answer = await self._call(
                        account, "iam", "iam:GetCredentialReport", "get_credential_report"
                    )
                    content = answer.get("Content") or b""
                    break
                except AwsCallFailed as exc:
                    if exc.failure.code not in ("ReportInProgress", "ReportNotPresent", "ReportNotReady"):
                        raise
                    await asyncio.sleep(REPORT_POLL_SECONDS)
            if content is None:
                raise AwsCallFailed(
                    Failure(
                        FailureKind.ERROR,
                        "iam:GetCredentialReport",
                        "ReportInProgress",
                        f"the report was still being generated after {REPORT_POLLS} attempts",
                        f"in account {account}",
                    )
                )
        except AwsCallFailed as exc:
            profile.gaps["console access and MFA"] = exc.failure.reason
            return
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
        profile.credential_rows = {row.get("user", ""): row for row in csv.DictReader(io.StringIO(text))}

    async def _load_summary(self, profile: AccountProfile) -> None:
        try:
            answer = await self._call(
                profile.account_id, "iam", "iam:GetAccountSummary", "get_account_summary"
            )
        except AwsCallFailed as exc:
            profile.gaps["root access keys"] = exc.failure.reason
            return
        profile.summary = dict(answer.get("SummaryMap", {}))
        profile.root_keys_present = int(profile.summary.get("AccountAccessKeysPresent", 0))

    # Per key

    def _keys_of(self, account_id: str, user: str) -> asyncio.Task[list[dict[str, Any]]]:
        task = self._user_keys.get((account_id, user))
        if task is None:
            task = asyncio.ensure_future(
                self._pages(
                    account_id, "iam:ListAccessKeys", "list_access_keys", "AccessKeyMetadata", UserName=user
                )
            )
            self._user_keys[(account_id, user)] = task
        return task

    async def key(self, account_id: str, key_id: str, profile: AccountProfile) -> KeyFacts:
        try:
            answer = await self._call(
                account_id, "iam", "iam:GetAccessKeyLastUsed", "get_access_key_last_used", AccessKeyId=key_id
            )
        except AwsCallFailed as exc:
            if exc.failure.kind is FailureKind.NOT_FOUND:
                return self._not_found(account_id, profile)
            return KeyFacts(KeyState.UNKNOWN, exc.failure.reason)
        used = answer.get("AccessKeyLastUsed") or {}
        last_used = _parse_time(used.get("LastUsedDate"))
        service = used.get("ServiceName")
        region = used.get("Region")
        service = None if service in (None, "N/A") else str(service)
        region = None if region in (None, "N/A") else str(region)
        user = answer.get("UserName")
        common: dict[str, Any] = {
            "last_used_at": last_used,
            "last_used_service": service,
            "last_used_region": region,
        }
        if not user or user in ROOT_NAMES:
            return self._root_key(account_id, profile, **common)
        user = str(user)
        arn = profile.users[user].arn if profile.users and user in profile.users else None
        try:
            keys = await self._keys_of(account_id, user)
        except AwsCallFailed as exc:
            if exc.failure.kind is FailureKind.NOT_FOUND:
                return KeyFacts(
                    KeyState.DELETED, f"the user {user} no longer exists", "user", user, arn, **common
                )
            return KeyFacts(KeyState.UNKNOWN, exc.failure.reason, "user", user, arn, **common)
        for item in keys:
            if str(item.get("AccessKeyId")) == key_id:
                status = str(item.get("Status", ""))
                state = {"Active": KeyState.ACTIVE, "Inactive": KeyState.INACTIVE}.get(
                    status, KeyState.UNKNOWN
                )
                reason = None if state is not KeyState.UNKNOWN else f"IAM reports the status {status!r}"
                created = _parse_time(item.get("CreateDate"))
                return KeyFacts(state, reason, "user", user, arn, created, **common)
        return KeyFacts(
            KeyState.DELETED, f"the key is no longer among {user}'s access keys", "user", user, arn, **common
        )

    def _not_found(self, account_id: str, profile: AccountProfile) -> KeyFacts:
        if profile.root_keys_present == 0:
            return KeyFacts(
                KeyState.DELETED, "no IAM user or root key of the account has this id", found=False
            )
        if profile.root_keys_present is None:
            why = profile.gaps.get("root access keys", "the account summary could not be read")
            return KeyFacts(
                KeyState.UNKNOWN,
                f"the key is no IAM user's, and whether the root user has keys is unknown: {why}",
                found=False,
            )
        return KeyFacts(
            KeyState.UNKNOWN,
            f"the key is no IAM user's, and the root user of account {account_id} has "
            f"{profile.root_keys_present} access key(s): it may be a root key (see the credential report)",
            principal="root?",
            found=False,
        )

    def _root_key(self, account_id: str, profile: AccountProfile, **common: Any) -> KeyFacts:
        arn = f"arn:aws:iam::{account_id}:root"
        row = (profile.credential_rows or {}).get("<root_account>")
        if row is None:
            why = profile.gaps.get("console access and MFA", "the credential report has no root row")
            return KeyFacts(
                KeyState.UNKNOWN,
                f"a root key, whose status cannot be read: {why}",
                "root",
                "root",
                arn,
                **common,
            )
        slots = []
        for n in (1, 2):
            rotated = _parse_time(row.get(f"access_key_{n}_last_rotated"))
            if rotated is None:
                continue
            slots.append(
                (
                    row.get(f"access_key_{n}_active") == "true",
                    rotated,
                    _parse_time(row.get(f"access_key_{n}_last_used_date")),
                )
            )
        used = common.get("last_used_at")
        match = [
            s
            for s in slots
            if used is not None and s[2] is not None and abs((s[2] - used).total_seconds()) < 3600
        ]
        if len(match) != 1 and len(slots) == 1:
            match = slots
        if len(match) == 1:
            active, created, _ = match[0]
            return KeyFacts(
                KeyState.ACTIVE if active else KeyState.INACTIVE, None, "root", "root", arn, created, **common
            )
        states = {s[0] for s in slots}
        if len(states) == 1:
            return KeyFacts(
                KeyState.ACTIVE if states.pop() else KeyState.INACTIVE, None, "root", "root", arn, **common
            )
        return KeyFacts(
            KeyState.UNKNOWN,
            "a root key; the root user has two keys in different states and this one cannot be told apart",
            "root",
            "root",
            arn,
            **common,
        )


def user_details(
    profile: AccountProfile, user: str | None, principal: str | None, owner_tag_keys: Sequence[str]
) -> dict[str, Any]:
    """Contacts, console access, MFA and admin-level access of the key's owner, with gaps for what failed."""
    gaps: list[str] = []
    details: dict[str, Any] = {
        "contacts": (),
        "console_access": None,
        "mfa": None,
        "admin": None,
        "admin_via": (),
    }
    if principal == "root":
        details.update(admin=True, admin_via=("the root user can do everything",))
        row = (profile.credential_rows or {}).get("<root_account>")
        if row is not None:
            details.update(
                console_access=row.get("password_enabled") == "true", mfa=row.get("mfa_active") == "true"
            )
        elif "console access and MFA" in profile.gaps:
            gaps.append(f"console access and MFA: {profile.gaps['console access and MFA']}")
        details["gaps"] = tuple(gaps)
        return details
    if not user:
        details["gaps"] = ()
        return details
    if profile.users is None:
        gaps.append(
            "owner tags, groups and policies: "
            + profile.gaps.get("owner tags, groups and policies", "not read")
        )
    elif user in profile.users:
        facts = profile.users[user]
        lowered = {k.lower(): (k, v) for k, v in facts.tags.items()}
        details["contacts"] = tuple(
            (lowered[key.lower()][0], lowered[key.lower()][1])
            for key in owner_tag_keys
            if key.lower() in lowered
        )
        via = admin_via(profile, facts)
        details.update(admin=bool(via), admin_via=via)
    if profile.credential_rows is None:
        gaps.append(f"console access and MFA: {profile.gaps.get('console access and MFA', 'not read')}")
    elif user in profile.credential_rows:
        row = profile.credential_rows[user]
        details.update(
            console_access=row.get("password_enabled") == "true", mfa=row.get("mfa_active") == "true"
        )
    details["gaps"] = tuple(gaps)
    return details
