"""Helpers shared by the checks: building results, turning a failed read into an ERROR, ages in days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from hygiene.model import (
    AccessKey,
    AccountInventory,
    CheckResult,
    Inventory,
    Severity,
    Status,
    Topic,
    User,
    frozen_map,
)


def result(
    check_id: str,
    account: AccountInventory,
    resource: str,
    status: Status,
    message: str,
    *,
    user: str | None = None,
    key_id: str | None = None,
    **details: Any,
) -> CheckResult:
    """A result; severity and controls are filled from the check's metadata by the registry."""
    return CheckResult(
        check_id,
        account.id,
        resource,
        status,
        message,
        Severity.INFO,
        user=user,
        key_id=key_id,
        details=frozen_map(details),
    )


def blocked(
    check_id: str,
    account: AccountInventory,
    topic: Topic,
    subject: str = "",
    resource: str | None = None,
    **kwargs: Any,
) -> CheckResult | None:
    """An ERROR result if the read `topic` (for `subject`) failed in `account`, else None."""
    gap = account.gap(topic, subject)
    if gap is None:
        return None
    return result(
        check_id,
        account,
        resource or account_arn(account),
        Status.ERROR,
        f"Could not be checked: {gap.reason}.",
        **kwargs,
    )


def account_arn(account: AccountInventory) -> str:
    return f"arn:aws:iam::{account.id}:root"


def days(now: datetime, then: datetime) -> int:
    return max(0, (now - then).days)


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "never"


def users_of(
    check_id: str, account: AccountInventory, results: list[CheckResult], *topics: Topic
) -> Iterator[User]:
    """The account's users, or nothing with an ERROR appended when the account or a needed read failed."""
    for topic in (Topic.USERS, *topics):
        error = blocked(check_id, account, topic)
        if error is not None:
            results.append(error)
            return
    yield from account.users


def keyed_users(check_id: str, account: AccountInventory, results: list[CheckResult]) -> Iterator[User]:
    """Users whose keys were listed; an ERROR for each user whose keys could not be."""
    for user in users_of(check_id, account, results):
        if user.keys is None:
            error = blocked(check_id, account, Topic.ACCESS_KEYS, user.name, user.arn, user=user.name)
            results.append(
                error or result(check_id, account, user.arn, Status.ERROR, "The user's keys were not read.")
            )
            continue
        yield user


def active_keys(
    check_id: str, account: AccountInventory, results: list[CheckResult]
) -> Iterator[tuple[User, AccessKey]]:
    """Every active key of the account's users, with its user (ERRORs appended as `keyed_users` does)."""
    for user in keyed_users(check_id, account, results):
        for key in user.keys or ():
            if key.active:
                yield user, key


def key_result(
    check_id: str,
    account: AccountInventory,
    user: User,
    key: AccessKey,
    status: Status,
    message: str,
    **details: Any,
) -> CheckResult:
    """A result about one user's access key (the key is the resource)."""
    return result(check_id, account, key.id, status, message, user=user.name, key_id=key.id, **details)


def last_use_unknown(
    check_id: str, account: AccountInventory, user: User, key: AccessKey
) -> CheckResult | None:
    """An ERROR if the key's last use could not be read, else None."""
    return blocked(check_id, account, Topic.KEY_LAST_USED, key.id, key.id, user=user.name, key_id=key.id)


def accounts(inventory: Inventory) -> Iterator[AccountInventory]:
    yield from inventory.accounts
