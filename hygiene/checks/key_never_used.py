"""An active access key never used [thresholds] key_never_used_days after its creation (CIS 1.12). Prowler's
unused-key check passes such keys; this one does not."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import blocked, days, keyed_users, result, when
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "key_never_used"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    limit = int(config.threshold("key_never_used_days"))
    results: list[CheckResult] = []
    for account in inventory.accounts:
        for user in keyed_users(ID, account, results):
            for key in user.keys or ():
                if not key.active:
                    continue
                error = blocked(
                    ID, account, Topic.KEY_LAST_USED, key.id, key.id, user=user.name, key_id=key.id
                )
                if error is not None:
                    results.append(error)
                    continue
                if key.last_used_at is not None:
                    results.append(
                        result(
                            ID,
                            account,
                            key.id,
                            Status.PASS,
                            f"Access key {key.id} of {user.name} has been used ({when(key.last_used_at)}).",
                            user=user.name,
                            key_id=key.id,
                        )
                    )
                    continue
                age = days(now, key.created_at) if key.created_at else None
                if age is not None and age >= limit:
                    results.append(
                        result(
                            ID,
                            account,
                            key.id,
                            Status.FAIL,
                            f"Access key {key.id} of {user.name} is active and has never been "
                            f"used in the {age} days since its creation (limit {limit}).",
                            user=user.name,
                            key_id=key.id,
                            age_days=age,
                        )
                    )
                else:
                    results.append(
                        result(
                            ID,
                            account,
                            key.id,
                            Status.PASS,
                            f"Access key {key.id} of {user.name} is new and not used yet.",
                            user=user.name,
                            key_id=key.id,
                        )
                    )
    return results
