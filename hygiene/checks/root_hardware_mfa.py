"""The root user's MFA is not a hardware device (CIS 1.6): an enabled MFA with no virtual device assigned
to root is hardware."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import account_arn, blocked, result
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "root_hardware_mfa"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    results: list[CheckResult] = []
    for account in inventory.accounts:
        root = account.root
        arn = account_arn(account)
        if root is None or root.mfa_enabled is None or (root.mfa_enabled and root.hardware_mfa is None):
            results.append(
                blocked(ID, account, Topic.SUMMARY)
                or blocked(ID, account, Topic.MFA_DEVICES)
                or result(
                    ID, account, arn, Status.ERROR, "Could not be checked: the MFA devices are unknown."
                )
            )
        elif not root.mfa_enabled:
            results.append(
                result(
                    ID,
                    account,
                    arn,
                    Status.FAIL,
                    f"The root user of account {account.id} has no MFA at all, hardware or virtual.",
                    user="root",
                )
            )
        elif not root.hardware_mfa:
            results.append(
                result(
                    ID,
                    account,
                    arn,
                    Status.FAIL,
                    f"The root user of account {account.id} uses a virtual MFA device, not a hardware one.",
                    user="root",
                )
            )
        else:
            results.append(
                result(
                    ID,
                    account,
                    arn,
                    Status.PASS,
                    f"The root user of account {account.id} uses a hardware MFA device.",
                    user="root",
                )
            )
    return results
