"""The root user signs in without MFA (CIS 1.5)."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import account_arn, blocked, result
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "root_mfa"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    results: list[CheckResult] = []
    for account in inventory.accounts:
        enabled = account.root.mfa_enabled if account.root else None
        if enabled is None:
            results.append(
                blocked(ID, account, Topic.SUMMARY)
                or result(
                    ID,
                    account,
                    account_arn(account),
                    Status.ERROR,
                    "Could not be checked: the account summary was not read.",
                )
            )
        elif not enabled:
            results.append(
                result(
                    ID,
                    account,
                    account_arn(account),
                    Status.FAIL,
                    f"The root user of account {account.id} has no MFA.",
                    user="root",
                )
            )
        else:
            results.append(
                result(
                    ID,
                    account,
                    account_arn(account),
                    Status.PASS,
                    f"The root user of account {account.id} has MFA.",
                    user="root",
                )
            )
    return results
