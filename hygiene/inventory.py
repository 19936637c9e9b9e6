"""Reading our AWS accounts into an immutable `Inventory`: the only module of `hygiene` that calls AWS.

Uses the shared plumbing in `scanner.aws` (session, endpoint, retries, Organizations accounts, a role per
account, bounded concurrency per account) and `scanner.iam.inspect.AccountInspector.profile` for three
account-wide reads. Which call supplies what, per account:

    iam:GetAccountAuthorizationDetails   tags, group membership, inline and attached policies of every user,
      (Filter User / Group /             the groups' policies, local policy documents: owner tags and
       LocalManagedPolicy, paginated)    admin-level access, with no per-user ListUserTags, ListGroupsForUser,
                                         List(Attached)UserPolicies calls
    iam:GenerateCredentialReport,        per user: console password (password_enabled: no GetLoginProfile),
      iam:GetCredentialReport            password last used, MFA active (no ListMFADevices); last use of
                                         each key slot; the <root_account> row: root keys, their use
    iam:GetAccountSummary                root MFA (AccountMFAEnabled), root keys (AccountAccessKeysPresent):
                                         the inspector's call (`AccountProfile.summary`), not a second one
    iam:ListUsers (pages of USERS_PAGE)  users, ARNs, creation dates, password last used
    iam:ListAccessKeys (per user)        key ids, status, creation date: IAM has no bulk call that returns
                                         key ids, and the ids are what results, recommendation commands and
                                         leaked keys (findings database) are keyed on
    iam:GetAccessKeyLastUsed (per key)   last use (date, service, region), only for a key whose credential
                                         report slot does not answer it (a key newer than the report, a
                                         report without services, as moto writes it)
    iam:ListVirtualMFADevices            which MFA devices are virtual (an enabled MFA that is not virtual
                                         is hardware: for root, exactly as CIS 1.6 asks)
    iam:GetAccountPasswordPolicy         NoSuchEntity means "no policy", not a failure

Order: the account-wide reads start first; each ListUsers page then starts its users' ListAccessKeys at
once (they are the bulk of the calls: one per user), and last uses are resolved when the credential report
is in. For 5,000 users that is ~5,010 calls, ~5,000 of them ListAccessKeys. The ListAccessKeys calls go in
batches of KEY_BATCH users, one batch per worker call (one slot of the account's limit, calls in a row):
the same calls, at most `per_account_concurrency` at once, with a tenth of the event loop's hand-offs
(a quarter of the client's CPU went to them with one hand-off per call).

Every failed read becomes a `Gap` (topic, reason, subject) on the account; nothing is ever dropped.
The credential report's sentinels (`N/A`, `no_information`, `not_supported`) read as "no date".
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hygiene.model import (
    AccessKey,
    AccountInventory,
    Gap,
    Inventory,
    MfaDevice,
    PasswordPolicy,
    Root,
    RootKeySlot,
    Topic,
    User,
    frozen_map,
)
from scanner.aws.accounts import Account, RoleAccess, caller_identity, organization_accounts
from scanner.aws.errors import AwsCallFailed, Failure, FailureKind, failure_of
from scanner.aws.runner import AwsRunner
from scanner.aws.session import AwsClients
from scanner.iam.config import IamConfig
from scanner.iam.inspect import AccountInspector, AccountProfile, admin_via
from scanner.iam.timeline import parse_moment

SENTINELS = frozenset({"", "N/A", "no_information", "not_supported"})
ROOT_ROW = "<root_account>"
USERS_PAGE = 1000  # ListUsers MaxItems: each page starts its users' ListAccessKeys
KEY_BATCH = 8  # users whose ListAccessKeys one worker call makes in a row


def moment(value: Any) -> datetime | None:
    """A date from IAM (datetime or credential-report text); the report's sentinels are no date."""
    if isinstance(value, str) and value.strip() in SENTINELS:
        return None
    return parse_moment(value)


@dataclass(frozen=True, slots=True)
class Target:
    """Which accounts to read: these ids, or the Organization's (plus configured ones and the caller's)."""

    accounts: tuple[str, ...] = ()
    organization: bool | None = None  # None: [iam] organization


class _Reader:
    def __init__(self, access: RoleAccess, runner: AwsRunner) -> None:
        self.access = access
        self.runner = runner
        self.inspector = AccountInspector(access, runner)

    def call_now(self, account: str, action: str, method: str, **kwargs: Any) -> Any:
        """One IAM call in this (worker) thread. Raises AwsCallFailed."""
        client: Any = self.access.client(account, "iam")
        try:
            return getattr(client, method)(**kwargs)
        except AwsCallFailed:
            raise
        except Exception as exc:
            raise AwsCallFailed(failure_of(exc, action, f"in account {account}")) from exc

    async def call(self, account: str, action: str, method: str, **kwargs: Any) -> Any:
        return await self.runner.run(account, self.call_now, account, action, method, **kwargs)

    async def pages(self, account: str, action: str, method: str, key: str, **kwargs: Any) -> list[Any]:
        items: list[Any] = []
        marker: str | None = None
        while True:
            page = await self.call(
                account, action, method, **kwargs, **({"Marker": marker} if marker else {})
            )
            items.extend(page.get(key, []))
            marker = page.get("Marker") if page.get("IsTruncated") else None
            if not marker:
                return items

    async def account(self, account: Account) -> AccountInventory:
        gaps: list[Gap] = []
        try:
            await self.runner.run(account.id, self.access.credentials, account.id)
        except AwsCallFailed as exc:
            return AccountInventory(account.id, account.name, gaps=(Gap(Topic.ACCOUNT, exc.failure.reason),))

        async def attempt(topic: Topic, coroutine: Any) -> Any:
            try:
                return await coroutine
            except AwsCallFailed as exc:
                gaps.append(Gap(topic, exc.failure.reason))
                return None

        # The account-wide reads start first; each ListUsers page then starts its users' ListAccessKeys
        # at once, so the per-user calls (the bulk of the work) never wait for the account-wide ones.
        account_wide = asyncio.gather(
            self._password_policy(account.id, gaps),
            attempt(
                Topic.MFA_DEVICES,
                self.pages(
                    account.id,
                    "iam:ListVirtualMFADevices",
                    "list_virtual_mfa_devices",
                    "VirtualMFADevices",
                    AssignmentStatus="Assigned",
                    MaxItems=1000,
                ),
            ),
            self.inspector.profile(account.id),
        )
        listed = await self._users_and_keys(account.id, gaps)
        policy, virtual, profile = await account_wide
        for topic, label in (
            (Topic.SUMMARY, "root access keys"),
            (Topic.AUTHORIZATION, "owner tags, groups and policies"),
            (Topic.CREDENTIAL_REPORT, "console access and MFA"),
        ):
            if label in profile.gaps:
                gaps.append(Gap(topic, profile.gaps[label]))
        rows = profile.credential_rows
        virtual_by_user: dict[str, list[str]] = {}
        for device in virtual or ():
            arn = str((device.get("User") or {}).get("Arn", ""))
            name = "root" if arn.endswith(":root") else str((device.get("User") or {}).get("UserName", ""))
            virtual_by_user.setdefault(name, []).append(str(device.get("SerialNumber", "")))
        users: list[User] = []
        if listed is not None:
            keys = await asyncio.gather(
                *(
                    self._last_uses(account.id, str(item["UserName"]), metadata, rows, gaps)
                    for item, metadata in listed
                )
            )
            for (item, _), user_keys in zip(listed, keys, strict=True):
                users.append(self._user(item, user_keys, profile, rows, virtual, virtual_by_user))
        root = self._root(account.id, profile.summary, rows, virtual, virtual_by_user)
        return AccountInventory(account.id, account.name, tuple(users), root, policy, tuple(gaps))

    async def _users_and_keys(
        self, account: str, gaps: list[Gap]
    ) -> list[tuple[Any, list[Any] | None]] | None:
        """Every user (ListUsers, page by page) with its keys' metadata (ListAccessKeys, started as soon as
        the user's page arrives; None where it failed, with a gap). None with a USERS gap if a page failed."""
        users: list[Any] = []
        listings: list[asyncio.Future[list[list[Any] | None]]] = []
        stop = threading.Event()  # a failed page: batches already running make no further calls
        marker: str | None = None
        try:
            while True:
                page = await self.call(
                    account,
                    "iam:ListUsers",
                    "list_users",
                    MaxItems=USERS_PAGE,
                    **({"Marker": marker} if marker else {}),
                )
                names = [str(item["UserName"]) for item in page.get("Users", [])]
                users.extend(page.get("Users", []))
                for start in range(0, len(names), KEY_BATCH):
                    batch = tuple(names[start : start + KEY_BATCH])
                    listings.append(asyncio.ensure_future(self._key_metadata(account, batch, gaps, stop)))
                marker = page.get("Marker") if page.get("IsTruncated") else None
                if not marker:
                    break
        except AwsCallFailed as exc:
            stop.set()
            gaps.append(Gap(Topic.USERS, exc.failure.reason))
            for listing in listings:
                listing.cancel()
            await asyncio.gather(*listings, return_exceptions=True)
            return None
        metadata = [keys for batch in await asyncio.gather(*listings) for keys in batch]
        return list(zip(users, metadata, strict=True))

    async def _key_metadata(
        self, account: str, users: tuple[str, ...], gaps: list[Gap], stop: threading.Event
    ) -> list[list[Any] | None]:
        """Each user's keys' metadata (every ListAccessKeys page), in one worker call; None, with a gap,
        where the user's listing failed."""
        listed = await self.runner.run(account, self._list_keys, account, users, stop)
        found: list[list[Any] | None] = []
        for user, keys in zip(users, listed, strict=True):
            if isinstance(keys, Failure):
                gaps.append(Gap(Topic.ACCESS_KEYS, keys.reason, user))
                found.append(None)
            else:
                found.append(keys)
        return found

    def _list_keys(
        self, account: str, users: tuple[str, ...], stop: threading.Event
    ) -> list[list[Any] | Failure]:
        listed: list[list[Any] | Failure] = []
        for user in users:
            if stop.is_set():
                listed.append(Failure(FailureKind.ERROR, "iam:ListAccessKeys", "Stopped", "not listed"))
                continue
            items: list[Any] = []
            marker: str | None = None
            try:
                while True:
                    page = self.call_now(
                        account,
                        "iam:ListAccessKeys",
                        "list_access_keys",
                        UserName=user,
                        **({"Marker": marker} if marker else {}),
                    )
                    items.extend(page.get("AccessKeyMetadata", []))
                    marker = page.get("Marker") if page.get("IsTruncated") else None
                    if not marker:
                        break
            except AwsCallFailed as exc:
                listed.append(exc.failure)
                continue
            listed.append(items)
        return listed

    async def _password_policy(self, account: str, gaps: list[Gap]) -> PasswordPolicy | None:
        try:
            answer = await self.call(account, "iam:GetAccountPasswordPolicy", "get_account_password_policy")
        except AwsCallFailed as exc:
            if exc.failure.kind is not FailureKind.NOT_FOUND:
                gaps.append(Gap(Topic.PASSWORD_POLICY, exc.failure.reason))
            return None
        p = answer.get("PasswordPolicy", {})
        return PasswordPolicy(
            minimum_length=int(p.get("MinimumPasswordLength", 0)),
            require_symbols=bool(p.get("RequireSymbols")),
            require_numbers=bool(p.get("RequireNumbers")),
            require_uppercase=bool(p.get("RequireUppercaseCharacters")),
            require_lowercase=bool(p.get("RequireLowercaseCharacters")),
            max_age_days=int(p["MaxPasswordAge"]) if p.get("MaxPasswordAge") else None,
            reuse_prevention=int(p["PasswordReusePrevention"]) if p.get("PasswordReusePrevention") else None,
            hard_expiry=bool(p.get("HardExpiry")),
        )

    async def _last_uses(
        self,
        account: str,
        user: str,
        metadata: list[Any] | None,
        rows: dict[str, dict[str, str]] | None,
        gaps: list[Gap],
    ) -> tuple[AccessKey, ...] | None:
        """The user's keys with their last use: from the credential report row where it gives the whole
        answer, else one GetAccessKeyLastUsed per key."""
        if metadata is None:
            return None
        report_row = (rows or {}).get(user)
        keys: list[AccessKey] = []
        asked: list[Any] = []
        for item in metadata:
            key = AccessKey(
                str(item["AccessKeyId"]), user, str(item.get("Status", "")), moment(item.get("CreateDate"))
            )
            from_report = _report_last_use(key, report_row)
            if from_report is not None:
                keys.append(from_report)
            else:
                asked.append(self._asked_last_use(account, key, gaps))
        keys.extend(await asyncio.gather(*asked))
        return tuple(keys)

    async def _asked_last_use(self, account: str, key: AccessKey, gaps: list[Gap]) -> AccessKey:
        try:
            answer = await self.call(
                account, "iam:GetAccessKeyLastUsed", "get_access_key_last_used", AccessKeyId=key.id
            )
        except AwsCallFailed as exc:
            gaps.append(Gap(Topic.KEY_LAST_USED, exc.failure.reason, key.id))
            return key
        used = answer.get("AccessKeyLastUsed") or {}
        service, region = used.get("ServiceName"), used.get("Region")
        return AccessKey(
            key.id,
            key.user,
            key.status,
            key.created_at,
            moment(used.get("LastUsedDate")),
            None if service in (None, "N/A") else str(service),
            None if region in (None, "N/A") else str(region),
        )

    @staticmethod
    def _user(
        item: Any,
        keys: tuple[AccessKey, ...] | None,
        profile: AccountProfile,
        rows: dict[str, dict[str, str]] | None,
        virtual: list[Any] | None,
        virtual_by_user: dict[str, list[str]],
    ) -> User:
        name = str(item["UserName"])
        facts = (profile.users or {}).get(name)
        row = (rows or {}).get(name)
        console = None if row is None else row.get("password_enabled") == "true"
        mfa: tuple[MfaDevice, ...] | None = None
        if row is not None and virtual is not None:
            serials = virtual_by_user.get(name, [])
            mfa = tuple(MfaDevice(s, True) for s in serials)
            if row.get("mfa_active") == "true" and not serials:
                mfa = (MfaDevice(f"{name}-hardware", False),)
        password_used = moment(item.get("PasswordLastUsed"))
        if row is not None:
            password_used = password_used or moment(row.get("password_last_used"))
        return User(
            name=name,
            arn=str(item.get("Arn", "")),
            created_at=moment(item.get("CreateDate")),
            tags=frozen_map(facts.tags if facts else {}),
            groups=facts.groups if facts else (),
            admin_via=admin_via(profile, facts) if facts is not None else None,
            console=console,
            password_last_used=password_used,
            mfa_devices=mfa,
            keys=tuple(sorted(keys, key=lambda k: k.id)) if keys is not None else None,
        )

    @staticmethod
    def _root(
        account: str,
        summary_map: dict[str, Any] | None,
        rows: dict[str, dict[str, str]] | None,
        virtual: list[Any] | None,
        virtual_by_user: dict[str, list[str]],
    ) -> Root:
        arn = f"arn:aws:iam::{account}:root"
        mfa_enabled = None if summary_map is None else bool(summary_map.get("AccountMFAEnabled"))
        keys_present = None if summary_map is None else int(summary_map.get("AccountAccessKeysPresent", 0))
        hardware = None
        if mfa_enabled is not None and virtual is not None:
            hardware = mfa_enabled and not virtual_by_user.get("root")
        row = (rows or {}).get(ROOT_ROW) if rows is not None else None
        slots: tuple[RootKeySlot, ...] | None = None
        password_used = last_used = None
        if row is not None:
            slots = tuple(
                RootKeySlot(
                    n,
                    row.get(f"access_key_{n}_active") == "true",
                    moment(row.get(f"access_key_{n}_last_rotated")),
                    moment(row.get(f"access_key_{n}_last_used_date")),
                    None
                    if row.get(f"access_key_{n}_last_used_service") in SENTINELS
                    else row.get(f"access_key_{n}_last_used_service"),
                )
                for n in (1, 2)
                if moment(row.get(f"access_key_{n}_last_rotated")) is not None
            )
            password_used = moment(row.get("password_last_used"))
            uses = [d for d in (password_used, *(s.last_used_at for s in slots)) if d is not None]
            last_used = max(uses) if uses else None
            if mfa_enabled is None:
                mfa_enabled = row.get("mfa_active") == "true"
        return Root(arn, keys_present, mfa_enabled, hardware, slots, password_used, last_used)


def _report_last_use(key: AccessKey, row: dict[str, str] | None) -> AccessKey | None:
    """The key's last use from its credential report slot (matched by creation time), when the report
    gives the whole answer: never used (`N/A`), or a date with its service. Else None: ask the API
    (a key newer than the report, a report without services, as moto writes it)."""
    if row is None or key.created_at is None:
        return None
    for n in (1, 2):
        rotated = moment(row.get(f"access_key_{n}_last_rotated"))
        if rotated is None or abs((rotated - key.created_at).total_seconds()) >= 1:
            continue
        used = row.get(f"access_key_{n}_last_used_date", "")
        service = row.get(f"access_key_{n}_last_used_service", "")
        region = row.get(f"access_key_{n}_last_used_region", "")
        if used.strip() == "N/A":
            return key
        if moment(used) is not None and service not in SENTINELS:
            return AccessKey(
                key.id,
                key.user,
                key.status,
                key.created_at,
                moment(used),
                service,
                None if region in SENTINELS else region,
            )
    return None


async def _accounts(
    clients: AwsClients, runner: AwsRunner, config: IamConfig, target: Target, problems: list[str]
) -> tuple[str | None, list[Account]]:
    caller: str | None = None
    try:
        caller = (await runner.run("caller", caller_identity, clients)).account
    except AwsCallFailed as exc:
        problems.append(exc.failure.reason)
    found: dict[str, Account] = {}
    if target.accounts:
        return caller, [Account(a, source="configured") for a in dict.fromkeys(target.accounts)]
    organization = config.organization if target.organization is None else target.organization
    if organization:
        try:
            for account in await runner.run("caller", organization_accounts, clients):
                if account.status in ("", "ACTIVE"):
                    found[account.id] = account
        except AwsCallFailed as exc:
            problems.append(f"the Organization's accounts could not be listed: {exc.failure.reason}")
    for account_id in config.accounts:
        found.setdefault(account_id, Account(account_id, source="configured"))
    if caller:
        found.setdefault(caller, Account(caller, source="caller"))
    return caller, sorted(found.values(), key=lambda a: a.id)


async def collect_async(config: IamConfig, now: datetime, target: Target = Target()) -> Inventory:
    clients = AwsClients(config.aws)
    problems: list[str] = []
    with AwsRunner(config.aws.max_workers, config.aws.per_account_concurrency) as runner:
        caller, accounts = await _accounts(clients, runner, config, target, problems)
        access = RoleAccess(
            clients,
            config.role_name,
            external_id=config.external_id,
            caller_account=caller,
            assume_in_caller_account=config.assume_in_caller_account,
        )
        reader = _Reader(access, runner)
        read = await asyncio.gather(*(reader.account(a) for a in accounts))
    return Inventory(now, tuple(read), problems=tuple(problems))


def collect(config: IamConfig, now: datetime, target: Target = Target()) -> Inventory:
    """Read every target account. `now` is when the snapshot is taken (checks measure ages from it)."""
    return asyncio.run(collect_async(config, now, target))


def leaks_from_store(store: Any, key_ids: Iterable[str] | None = None) -> dict[str, Any]:
    """The leaked AWS key ids the findings database holds (open or confirmed), with where they were found."""
    from hygiene.model import Leak
    from scanner.model import TriageStatus
    from scanner.store import FindingFilter

    wanted = set(key_ids) if key_ids is not None else None
    leaks: dict[str, Leak] = {}
    excluded = {TriageStatus.FALSE_POSITIVE}
    for finding in store.list_findings(FindingFilter()):
        if not finding.key_id or finding.status in excluded:
            continue
        if wanted is not None and finding.key_id not in wanted:
            continue
        paths = tuple(dict.fromkeys(loc.location.path for loc in finding.locations if loc.location.path))
        previous = leaks.get(finding.key_id)
        if previous is None or finding.first_seen_at < previous.first_seen_at:
            leaks[finding.key_id] = Leak(
                finding.key_id, finding.fingerprint, finding.first_seen_at, str(finding.status), paths
            )
    return leaks


def key_ids(inventory: Inventory) -> Sequence[str]:
    return [k.id for a in inventory.accounts for k in a.access_keys()]
