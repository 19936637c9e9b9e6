"""Enrich AWS access key ids: whose they are, their state, their owner; concurrently, politely, cached.

For each key id:

1. Decode the account offline (`keyid.py`). A known canary account (`canaries.py`) stops here: no call
   is made about a canary key, ever.
2. A fresh cached result (younger than `cache_ttl`, and not `unknown`) is reused without any call.
3. The account is one of ours (the Organization's accounts and/or `[iam] accounts`, plus the caller's
   own) or not. When the id does not encode its account, or the decoded account is not ours, or the key
   is not found where the decoding says, `sts:GetAccessKeyInfo` (caller credentials only) confirms it.
4. In our accounts, the role is assumed and the key inspected (`inspect.py`); elsewhere the key is
   `foreign`. Anything that fails makes that key `unknown` with the reason, and the run goes on: the
   problems are listed in `EnrichmentRun.problems`, so a report never reads clean because a call failed.
5. With `verify`, keys found with their secret (not canaries) are checked with their own credentials
   (`verify.py`), rate-limited.

Boto3 calls run in a bounded thread pool, at most `per_account_concurrency` at once per account, each
with botocore's retries and backoff on throttling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from scanner.aws.accounts import Account, RoleAccess, caller_identity, organization_accounts
from scanner.aws.errors import AwsCallFailed, AwsError, Failure, failure_of
from scanner.aws.runner import AwsRunner, RateLimiter
from scanner.aws.session import AwsClients
from scanner.iam.canaries import canary_vendor
from scanner.iam.config import IamConfig
from scanner.iam.inspect import AccountInspector, user_details
from scanner.iam.keyid import KeyIdInfo, decode_key_id, is_key_id
from scanner.iam.model import KeyEnrichment, KeyState, Liveness, Ownership, Verification
from scanner.iam.verify import verify_key

DECODED = "decoded from the key id"
STS = "sts:GetAccessKeyInfo"
DECODED_CONFIRMED = "decoded from the key id, confirmed by sts:GetAccessKeyInfo"
DECODED_FOUND = "decoded from the key id, confirmed by finding the key in the account"


@dataclass(frozen=True)
class EnrichmentRun:
    results: dict[str, KeyEnrichment]
    problems: tuple[str, ...]  # what could not be checked, one sentence each
    calls: int = 0  # AWS calls made
    cached: int = 0  # keys answered from the cache
    verified: int = 0  # keys checked with --verify in this run


def is_fresh(enrichment: KeyEnrichment, now: datetime, ttl_seconds: float) -> bool:
    """A cached result is reused while younger than the TTL, unless it says `unknown` (asked again)."""
    return enrichment.state is not KeyState.UNKNOWN and enrichment.fetched_at >= now - timedelta(
        seconds=ttl_seconds
    )


def _verification_fresh(enrichment: KeyEnrichment, now: datetime, ttl_seconds: float) -> bool:
    check = enrichment.verification
    return (
        check is not None
        and check.result not in (Liveness.UNKNOWN, Liveness.NOT_ATTEMPTED)
        and check.at >= now - timedelta(seconds=ttl_seconds)
    )


def _canary(info: KeyIdInfo, account: str, vendor: str, source: str, now: datetime) -> KeyEnrichment:
    return KeyEnrichment(
        key_id=info.key_id,
        ownership=Ownership.CANARY,
        state=KeyState.CANARY,
        fetched_at=now,
        kind=info.kind,
        account_id=account,
        account_source=source,
        decode_note=info.note,
        canary=vendor,
        reason=f"a canary token ({vendor}): never contacted; whoever planted it is alerted when it is used",
    )


def _unknown(info: KeyIdInfo, reason: str, now: datetime, **fields: Any) -> KeyEnrichment:
    return KeyEnrichment(
        key_id=info.key_id,
        ownership=fields.pop("ownership", Ownership.UNKNOWN),
        state=KeyState.UNKNOWN,
        fetched_at=now,
        kind=info.kind,
        decode_note=info.note,
        reason=reason,
        **fields,
    )


class _Run:
    """One enrichment run's shared state (accounts, access, the inspector, problems)."""

    def __init__(self, config: IamConfig, clients: AwsClients, runner: AwsRunner, now: datetime) -> None:
        self.config = config
        self.clients = clients
        self.runner = runner
        self.now = now
        self.ours: dict[str, Account] = {}
        self.organization_failure: Failure | None = None
        self.problems: dict[str, str] = {}
        self.inspector: AccountInspector | None = None

    def problem(self, key: str, sentence: str) -> None:
        self.problems.setdefault(key, sentence)

    async def access_key_info(self, key_id: str) -> str:
        def call() -> str:
            try:
                return str(self.clients.client("sts").get_access_key_info(AccessKeyId=key_id)["Account"])
            except Exception as exc:
                raise AwsCallFailed(failure_of(exc, STS, f"for {key_id}")) from exc

        return await self.runner.run("caller", call)

    async def enrich(self, info: KeyIdInfo) -> KeyEnrichment:
        account, source = info.account_id, DECODED if info.account_id else None
        caveat: str | None = None
        if account is None or account not in self.ours:
            try:
                confirmed = await self.access_key_info(info.key_id)
            except AwsCallFailed as exc:
                if account is None:
                    return _unknown(info, f"{info.note}; and {exc.failure.reason}", self.now)
                caveat = f"the decoded account could not be confirmed: {exc.failure.reason}"
            else:
                if account is not None and confirmed != account:
                    caveat = f"the id decodes to account {account}, but {STS} says {confirmed}"
                    source = STS
                else:
                    source = DECODED_CONFIRMED if account else STS
                account = confirmed
        assert account is not None
        return await self.classify(info, account, source or DECODED, caveat, confirm_if_missing=True)

    async def classify(
        self, info: KeyIdInfo, account: str, source: str, caveat: str | None, *, confirm_if_missing: bool
    ) -> KeyEnrichment:
        now = self.now
        vendor = canary_vendor(account, self.config.canary_accounts)
        if vendor:
            return _canary(info, account, vendor, source, now)
        if account not in self.ours:
            if self.organization_failure is not None:
                return _unknown(
                    info,
                    f"cannot tell whether account {account} is ours: {self.organization_failure.reason}",
                    now,
                    account_id=account,
                    account_source=source,
                )
            return KeyEnrichment(
                key_id=info.key_id,
                ownership=Ownership.FOREIGN,
                state=KeyState.FOREIGN,
                fetched_at=now,
                kind=info.kind,
                account_id=account,
                account_source=source,
                decode_note=info.note,
                reason=caveat or "a third party's (or an unknown) account: not one of ours",
            )
        name = self.ours[account].name or None
        assert self.inspector is not None
        try:
            profile = await self.inspector.profile(account)
        except AwsCallFailed as exc:
            self.problem(
                f"account:{account}",
                f"account {account}{f' ({name})' if name else ''} could not be entered: {exc.failure.reason}",
            )
            return _unknown(
                info, exc.failure.reason, now, ownership=Ownership.OURS, account_id=account,
                account_name=name, account_source=source,
            )  # fmt: skip
        facts = await self.inspector.key(account, info.key_id, profile)
        if not facts.found and confirm_if_missing and source == DECODED:
            # Not in the account the id decodes to: ask STS before calling it deleted.
            try:
                confirmed = await self.access_key_info(info.key_id)
            except AwsCallFailed as exc:
                caveat = f"the decoded account could not be confirmed: {exc.failure.reason}"
            else:
                if confirmed != account:
                    return await self.classify(
                        info,
                        confirmed,
                        STS,
                        f"the id decodes to account {account}, but {STS} says {confirmed}",
                        confirm_if_missing=False,
                    )
                source = DECODED_CONFIRMED
        elif facts.found and source == DECODED:
            source = DECODED_FOUND
        for topic, reason in profile.gaps.items():
            self.problem(f"gap:{account}:{topic}", f"account {account}: {topic} not known: {reason}")
        details = user_details(profile, facts.user_name, facts.principal, self.config.owner_tag_keys)
        why = "; ".join(x for x in (facts.reason, caveat) if x) or None
        return KeyEnrichment(
            key_id=info.key_id,
            ownership=Ownership.OURS,
            state=facts.state,
            fetched_at=now,
            kind=info.kind,
            account_id=account,
            account_name=name,
            account_source=source,
            decode_note=info.note,
            reason=why,
            principal=facts.principal,
            user_name=facts.user_name,
            user_arn=facts.user_arn,
            created_at=facts.created_at,
            last_used_at=facts.last_used_at,
            last_used_service=facts.last_used_service,
            last_used_region=facts.last_used_region,
            contacts=details["contacts"],
            console_access=details["console_access"],
            mfa=details["mfa"],
            admin=details["admin"],
            admin_via=details["admin_via"],
            gaps=details["gaps"],
        )


async def enrich_keys(
    key_ids: Iterable[str],
    config: IamConfig,
    *,
    now: datetime,
    cache: Mapping[str, KeyEnrichment] | None = None,
    secrets: Mapping[str, str] | None = None,
    verify: bool = False,
    refresh: bool = False,
    clients: AwsClients | None = None,
) -> EnrichmentRun:
    """Enrich every key id (invalid ones are skipped). Never raises for AWS trouble: see `problems`."""
    cache = cache or {}
    secrets = secrets or {}
    ttl = config.cache_ttl_seconds
    results: dict[str, KeyEnrichment] = {}
    todo: list[KeyIdInfo] = []
    cached = 0
    wanted = list(dict.fromkeys(k.strip().upper() for k in key_ids if is_key_id(k.strip().upper())))
    for key_id in wanted:
        info = decode_key_id(key_id)
        vendor = canary_vendor(info.account_id, config.canary_accounts)
        if vendor and info.account_id:
            results[key_id] = _canary(info, info.account_id, vendor, DECODED, now)
            continue
        hit = cache.get(key_id)
        if hit is not None and not refresh and is_fresh(hit, now, ttl):
            results[key_id] = hit
            cached += 1
            continue
        todo.append(info)

    def needs_check(key_id: str) -> bool:
        if not verify or not secrets.get(key_id):
            return False
        known = results.get(key_id)
        if known is not None and known.state is KeyState.CANARY:
            return False
        return known is None or refresh or not _verification_fresh(known, now, ttl)

    problems: dict[str, str] = {}
    if not todo and not any(needs_check(k) for k in wanted):
        return EnrichmentRun(results, (), 0, cached, 0)
    try:
        clients = clients or AwsClients(config.aws)
    except AwsError as exc:
        for info in todo:
            results[info.key_id] = _unknown(info, str(exc), now)
        return EnrichmentRun(results, (f"AWS cannot be used: {exc}",), 0, cached, 0)

    runner = AwsRunner(config.aws.max_workers, config.aws.per_account_concurrency)
    try:
        run = _Run(config, clients, runner, now)
        if todo:
            await _enrich_all(run, todo, results)
            problems.update(run.problems)
        verified = await _verify_all(clients, runner, config, wanted, results, secrets, needs_check, now)
        # Keys whose secret was found but that were not re-verified keep their cached verification.
        for key_id, hit in cache.items():
            if key_id in results and results[key_id].verification is None and hit.verification is not None:
                results[key_id] = results[key_id].with_verification(hit.verification)
    finally:
        runner.close()
    unknown = [k for k in wanted if results.get(k) is not None and results[k].state is KeyState.UNKNOWN]
    if unknown:
        problems["unknown"] = (
            f"{len(unknown)} of {len(wanted)} AWS key(s) could not be checked and are 'unknown' "
            f"(each says why): {', '.join(unknown[:10])}{' …' if len(unknown) > 10 else ''}"
        )
    return EnrichmentRun(results, tuple(problems.values()), runner.calls, cached, verified)


async def _enrich_all(run: _Run, todo: list[KeyIdInfo], results: dict[str, KeyEnrichment]) -> None:
    config, now = run.config, run.now
    try:
        caller = await run.runner.run("caller", caller_identity, run.clients)
    except AwsCallFailed as exc:
        reason = f"keysweep's own AWS credentials cannot be used: {exc.failure.reason}"
        run.problem("caller", reason)
        for info in todo:
            results[info.key_id] = _unknown(info, reason, now)
        return
    run.ours = {account: Account(account, source="configured") for account in config.accounts}
    if config.organization:
        try:
            for account in await run.runner.run("caller", organization_accounts, run.clients):
                run.ours[account.id] = account
        except AwsCallFailed as exc:
            run.organization_failure = exc.failure
            run.problem(
                "organization",
                f"the Organization's accounts could not be listed ({exc.failure.reason}); keys of accounts "
                "not configured in [iam] accounts are 'unknown'",
            )
    run.ours.setdefault(caller.account, Account(caller.account, source="caller"))
    access = RoleAccess(
        run.clients,
        config.role_name,
        external_id=config.external_id,
        caller_account=caller.account,
        assume_in_caller_account=config.assume_in_caller_account,
        partition=caller.arn.split(":")[1] if caller.arn.count(":") >= 2 else "aws",
    )
    run.inspector = AccountInspector(access, run.runner)

    async def one(info: KeyIdInfo) -> None:
        try:
            results[info.key_id] = await run.enrich(info)
        except AwsCallFailed as exc:  # pragma: no cover - every path above catches its own
            results[info.key_id] = _unknown(info, exc.failure.reason, now)
        except Exception as exc:  # a bug must not lose the other keys: this key says what went wrong
            results[info.key_id] = _unknown(info, f"enrichment failed: {type(exc).__name__}: {exc}", now)

    await asyncio.gather(*(one(info) for info in todo))


async def _verify_all(
    clients: AwsClients,
    runner: AwsRunner,
    config: IamConfig,
    wanted: list[str],
    results: dict[str, KeyEnrichment],
    secrets: Mapping[str, str],
    needs_check: Any,
    now: datetime,
) -> int:
    targets = [
        k for k in wanted if needs_check(k) and (k not in results or results[k].state is not KeyState.CANARY)
    ]
    if not targets:
        return 0
    limiter = RateLimiter(config.verify_rate)

    async def one(key_id: str) -> None:
        await limiter.wait()
        check: Verification = await runner.run("verify", verify_key, clients, key_id, secrets[key_id], now)
        known = results.get(key_id)
        if known is not None:
            results[key_id] = replace(known, verification=check)

    await asyncio.gather(*(one(k) for k in targets))
    return len(targets)
