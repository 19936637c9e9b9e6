"""An active access key older than [thresholds] key_rotation_days (CIS 1.14)."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import days, keyed_users, result, when
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
        for user in keyed_users(ID, account, results):
            for key in user.keys or ():
                if not key.active:
                    continue
                if key.created_at is None:
                    results.append(
                        result(
                            ID,
                            account,
                            key.id,
                            Status.ERROR,
                            f"Could not be checked: IAM gave no creation date for {key.id}.",
                            user=user.name,
                            key_id=key.id,
                        )
                    )
                    continue
                age = days(now, key.created_at)
                status = Status.FAIL if age > limit else Status.PASS
                results.append(
                    result(
                        ID,
                        account,
                        key.id,
                        status,
                        f"Access key {key.id} of {user.name} is {age} day(s) old "
                        f"(created {when(key.created_at)}, rotate within {limit}).",
                        user=user.name,
                        key_id=key.id,
                        age_days=age,
                    )
                )
    return results
