"""A key the findings database holds (found leaked in code, history or an image) is still active in IAM:
anyone who read the leak can use it. The most severe result there is."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import account_arn, key_result, keyed_users, result, when
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status

ID = "leaked_key_active"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    results: list[CheckResult] = []
    for account in inventory.accounts:
        if inventory.leak_gap is not None and account.unreachable is None:
            results.append(
                result(
                    ID,
                    account,
                    account_arn(account),
                    Status.ERROR,
                    f"Could not be checked: {inventory.leak_gap}.",
                )
            )
            continue
        leaked = 0
        for user in keyed_users(ID, account, results):
            for key in user.keys or ():
                leak = inventory.leaks.get(key.id)
                if leak is None:
                    continue
                leaked += 1
                where = ", ".join(leak.paths[:3]) or "a scanned source"
                if key.active:
                    message = (
                        f"Access key {key.id} of {user.name} leaked (found in {where}, first "
                        f"seen {when(leak.first_seen_at)}) and is still active."
                    )
                    details = {"paths": list(leak.paths), "first_seen": when(leak.first_seen_at)}
                    results.append(key_result(ID, account, user, key, Status.FAIL, message, **details))
                else:
                    message = (
                        f"Access key {key.id} of {user.name} leaked ({where}) but is inactive: delete it."
                    )
                    results.append(
                        key_result(ID, account, user, key, Status.PASS, message, paths=list(leak.paths))
                    )
        if not leaked and not account.unreachable:
            results.append(
                result(
                    ID,
                    account,
                    account_arn(account),
                    Status.PASS,
                    f"No access key of account {account.id} is in the findings database.",
                )
            )
    return results
