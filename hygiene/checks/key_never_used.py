"""An active access key never used [thresholds] key_never_used_days after its creation (CIS 1.12). Prowler's
unused-key check passes such keys; this one does not."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import active_keys, days, key_result, last_use_unknown, when
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status

ID = "key_never_used"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    limit = int(config.threshold("key_never_used_days"))
    results: list[CheckResult] = []
    for account in inventory.accounts:
        for user, key in active_keys(ID, account, results):
            error = last_use_unknown(ID, account, user, key)
            if error is not None:
                results.append(error)
                continue
            if key.last_used_at is not None:
                message = f"Access key {key.id} of {user.name} has been used ({when(key.last_used_at)})."
                results.append(key_result(ID, account, user, key, Status.PASS, message))
                continue
            age = days(now, key.created_at) if key.created_at else None
            if age is not None and age >= limit:
                message = (
                    f"Access key {key.id} of {user.name} is active and has never been "
                    f"used in the {age} days since its creation (limit {limit})."
                )
                results.append(key_result(ID, account, user, key, Status.FAIL, message, age_days=age))
            else:
                message = f"Access key {key.id} of {user.name} is new and not used yet."
                results.append(key_result(ID, account, user, key, Status.PASS, message))
    return results
