"""An active access key not used for [thresholds] key_unused_days (CIS 1.12). A key never used at all is
judged by key_never_used."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import active_keys, days, key_result, last_use_unknown, result, when
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status

ID = "key_unused"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    limit = int(config.threshold("key_unused_days"))
    results: list[CheckResult] = []
    for account in inventory.accounts:
        root = account.root
        for slot in (root.key_slots or ()) if root else ():
            if slot.active and slot.last_used_at is not None:
                idle = days(now, slot.last_used_at)
                results.append(
                    result(
                        ID,
                        account,
                        root.arn if root else "",
                        Status.FAIL if idle > limit else Status.PASS,
                        f"Root access key {slot.slot} was last used {idle} day(s) ago "
                        f"({when(slot.last_used_at)}, limit {limit}).",
                        user="root",
                        idle_days=idle,
                    )
                )
        for user, key in active_keys(ID, account, results):
            error = last_use_unknown(ID, account, user, key)
            if error is not None:
                results.append(error)
                continue
            if key.last_used_at is None:
                message = f"Access key {key.id} of {user.name} has never been used (see key_never_used)."
                results.append(key_result(ID, account, user, key, Status.PASS, message))
                continue
            idle = days(now, key.last_used_at)
            message = (
                f"Access key {key.id} of {user.name} was last used {idle} day(s) ago "
                f"({when(key.last_used_at)}, limit {limit})."
            )
            status = Status.FAIL if idle > limit else Status.PASS
            results.append(key_result(ID, account, user, key, status, message, idle_days=idle))
    return results
