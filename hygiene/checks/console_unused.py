"""A console password not used for [thresholds] console_unused_days, or never used by a user at least that
old (CIS 1.12)."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import days, result, users_of, when
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "console_unused"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    limit = int(config.threshold("console_unused_days"))
    results: list[CheckResult] = []
    for account in inventory.accounts:
        for user in users_of(ID, account, results, Topic.CREDENTIAL_REPORT):
            if user.console is None:
                results.append(
                    result(
                        ID,
                        account,
                        user.arn,
                        Status.ERROR,
                        f"Could not be checked: user {user.name} is not in the credential report yet.",
                        user=user.name,
                    )
                )
                continue
            if not user.console:
                continue
            used = user.password_last_used
            if used is None:
                age = days(now, user.created_at) if user.created_at else 0
                status = Status.FAIL if age >= limit else Status.PASS
                message = (
                    f"Console password of {user.name} has never been used ({age} days since the user "
                    f"was created, limit {limit})."
                )
            else:
                idle = days(now, used)
                status = Status.FAIL if idle > limit else Status.PASS
                message = (
                    f"Console password of {user.name} was last used {idle} day(s) ago ({when(used)}, "
                    f"limit {limit})."
                )
            results.append(result(ID, account, user.arn, status, message, user=user.name))
    return results
