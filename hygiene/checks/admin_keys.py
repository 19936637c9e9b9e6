"""An active access key of a user with admin-level access (AdministratorAccess, or a policy allowing *:*,
directly or through a group): long-lived keys that can do everything."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import active_keys, key_result
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "admin_keys"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    results: list[CheckResult] = []
    for account in inventory.accounts:
        gap = account.gap(Topic.AUTHORIZATION)
        for user, key in active_keys(ID, account, results):
            if user.admin_via is None:
                reason = gap.reason if gap else "the user's policies were not read"
                message = f"Could not be checked: {reason}."
                results.append(key_result(ID, account, user, key, Status.ERROR, message))
            elif user.admin_via:
                message = (
                    f"Access key {key.id} belongs to {user.name}, who has admin-level "
                    f"access ({'; '.join(user.admin_via)})."
                )
                results.append(
                    key_result(ID, account, user, key, Status.FAIL, message, admin_via=list(user.admin_via))
                )
            else:
                message = f"Access key {key.id} belongs to {user.name}, who has no admin-level access."
                results.append(key_result(ID, account, user, key, Status.PASS, message))
    return results
