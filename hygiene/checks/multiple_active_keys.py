"""A user with more than [thresholds] max_active_keys active access keys (CIS 1.13)."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import keyed_users, result
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status

ID = "multiple_active_keys"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    limit = int(config.threshold("max_active_keys"))
    results: list[CheckResult] = []
    for account in inventory.accounts:
        for user in keyed_users(ID, account, results):
            keys = sorted(
                (k for k in user.keys or () if k.active), key=lambda k: (k.created_at is None, k.created_at)
            )
            active = [k.id for k in keys]  # oldest first: the one to retire
            if not active:
                continue
            status = Status.FAIL if len(active) > limit else Status.PASS
            results.append(
                result(
                    ID,
                    account,
                    user.arn,
                    status,
                    f"User {user.name} has {len(active)} active access key(s) "
                    f"({', '.join(active)}; limit {limit}).",
                    user=user.name,
                    key_id=active[0] if status is Status.FAIL else None,
                    keys=active,
                )
            )
    return results
