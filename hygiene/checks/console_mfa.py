"""A user with a console password and no MFA device (CIS 1.10)."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import result, users_of
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "console_mfa"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    results: list[CheckResult] = []
    for account in inventory.accounts:
        for user in users_of(ID, account, results, Topic.CREDENTIAL_REPORT, Topic.MFA_DEVICES):
            if user.console is None or user.mfa is None:
                results.append(
                    result(
                        ID,
                        account,
                        user.arn,
                        Status.ERROR,
                        f"Could not be checked: user {user.name} is not in the credential "
                        "report yet (it is regenerated at most every 4 hours).",
                        user=user.name,
                    )
                )
                continue
            if not user.console:
                continue
            if user.mfa:
                kinds = sorted({"virtual" if d.virtual else "hardware" for d in user.mfa_devices or ()})
                results.append(
                    result(
                        ID,
                        account,
                        user.arn,
                        Status.PASS,
                        f"Console user {user.name} has MFA ({', '.join(kinds)}).",
                        user=user.name,
                    )
                )
            else:
                results.append(
                    result(
                        ID,
                        account,
                        user.arn,
                        Status.FAIL,
                        f"Console user {user.name} signs in with a password and no MFA.",
                        user=user.name,
                    )
                )
    return results
