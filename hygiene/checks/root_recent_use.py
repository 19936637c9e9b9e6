"""The root user was used recently (CIS 1.7): password sign-in or access key, within
[thresholds] root_recent_use_days."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import account_arn, blocked, days, result, when
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "root_recent_use"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    limit = int(config.threshold("root_recent_use_days"))
    results: list[CheckResult] = []
    for account in inventory.accounts:
        root = account.root
        arn = account_arn(account)
        if root is None or root.key_slots is None:
            results.append(
                blocked(ID, account, Topic.CREDENTIAL_REPORT)
                or result(
                    ID,
                    account,
                    arn,
                    Status.ERROR,
                    "Could not be checked: the credential report has no row for the root user.",
                )
            )
            continue
        used = root.last_used_at
        if used is not None and days(now, used) < limit:
            results.append(
                result(
                    ID,
                    account,
                    arn,
                    Status.FAIL,
                    f"The root user of account {account.id} was used on {when(used)}, "
                    f"{days(now, used)} day(s) ago (limit: not within {limit}).",
                    user="root",
                    last_used=when(used),
                )
            )
        else:
            results.append(
                result(
                    ID,
                    account,
                    arn,
                    Status.PASS,
                    f"The root user of account {account.id} was last used: {when(used)}.",
                    user="root",
                )
            )
    return results
