"""The root user has access keys (CIS 1.4): the keys nobody can limit."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import account_arn, blocked, result
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "root_access_keys"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    results: list[CheckResult] = []
    for account in inventory.accounts:
        root = account.root
        present = root.keys_present if root else None
        slots = root.key_slots if root else None
        active = [s for s in slots or () if s.active]
        if present is None and slots is None:
            error = blocked(ID, account, Topic.SUMMARY) or blocked(ID, account, Topic.CREDENTIAL_REPORT)
            results.append(
                error
                or result(
                    ID,
                    account,
                    account_arn(account),
                    Status.ERROR,
                    "Could not be checked: neither the account summary nor the credential report "
                    "says whether the root user has access keys.",
                )
            )
            continue
        count = max(present or 0, len(active))
        if count:
            results.append(
                result(
                    ID,
                    account,
                    account_arn(account),
                    Status.FAIL,
                    f"The root user of account {account.id} has {count} active access key(s).",
                    user="root",
                    active_slots=[s.slot for s in active],
                )
            )
        else:
            results.append(
                result(
                    ID,
                    account,
                    account_arn(account),
                    Status.PASS,
                    f"The root user of account {account.id} has no access keys.",
                    user="root",
                )
            )
    return results
