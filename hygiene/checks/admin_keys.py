"""An active access key of a user with admin-level access (AdministratorAccess, or a policy allowing *:*,
directly or through a group): long-lived keys that can do everything."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import keyed_users, result
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "admin_keys"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    results: list[CheckResult] = []
    for account in inventory.accounts:
        gap = account.gap(Topic.AUTHORIZATION)
        for user in keyed_users(ID, account, results):
            for key in user.keys or ():
                if not key.active:
                    continue
                if user.admin_via is None:
                    reason = gap.reason if gap else "the user's policies were not read"
                    results.append(
                        result(
                            ID,
                            account,
                            key.id,
                            Status.ERROR,
                            f"Could not be checked: {reason}.",
                            user=user.name,
                            key_id=key.id,
                        )
                    )
                elif user.admin_via:
                    results.append(
                        result(
                            ID,
                            account,
                            key.id,
                            Status.FAIL,
                            f"Access key {key.id} belongs to {user.name}, who has admin-level "
                            f"access ({'; '.join(user.admin_via)}).",
                            user=user.name,
                            key_id=key.id,
                            admin_via=list(user.admin_via),
                        )
                    )
                else:
                    results.append(
                        result(
                            ID,
                            account,
                            key.id,
                            Status.PASS,
                            f"Access key {key.id} belongs to {user.name}, who has no admin-level access.",
                            user=user.name,
                            key_id=key.id,
                        )
                    )
    return results
