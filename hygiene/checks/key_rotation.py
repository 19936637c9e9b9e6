"""An active access key older than [thresholds] key_rotation_days (CIS 1.14)."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import active_keys, days, key_result, result, when
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status

ID = "key_rotation"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    limit = int(config.threshold("key_rotation_days"))
    results: list[CheckResult] = []
    for account in inventory.accounts:
        root = account.root
        for slot in (root.key_slots or ()) if root else ():
            if slot.active and slot.last_rotated is not None:
                age = days(now, slot.last_rotated)
                results.append(
                    result(
                        ID,
                        account,
                        root.arn if root else "",
                        Status.FAIL if age > limit else Status.PASS,
                        f"Root access key {slot.slot} is {age} day(s) old "
                        f"(created {when(slot.last_rotated)}, rotate within {limit}; better: delete it).",
                        user="root",
                        age_days=age,
                    )
                )
        for user, key in active_keys(ID, account, results):
            if key.created_at is None:
                message = f"Could not be checked: IAM gave no creation date for {key.id}."
                results.append(key_result(ID, account, user, key, Status.ERROR, message))
                continue
            age = days(now, key.created_at)
            message = (
                f"Access key {key.id} of {user.name} is {age} day(s) old "
                f"(created {when(key.created_at)}, rotate within {limit})."
            )
            status = Status.FAIL if age > limit else Status.PASS
            results.append(key_result(ID, account, user, key, status, message, age_days=age))
    return results
