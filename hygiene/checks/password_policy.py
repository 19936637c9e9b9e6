"""The account password policy is missing or weaker than [thresholds] password_* (CIS 1.8, 1.9)."""

from __future__ import annotations

from datetime import datetime

from hygiene.checks._common import blocked, result
from hygiene.config import HygieneConfig
from hygiene.model import CheckResult, Inventory, Status, Topic

ID = "password_policy"


def check(inventory: Inventory, config: HygieneConfig, now: datetime) -> list[CheckResult]:
    t = config.threshold
    results: list[CheckResult] = []
    for account in inventory.accounts:
        resource = f"arn:aws:iam::{account.id}:account-password-policy"
        error = blocked(ID, account, Topic.PASSWORD_POLICY, resource=resource)
        if error is not None:
            results.append(error)
            continue
        policy = account.password_policy
        if policy is None:
            results.append(
                result(
                    ID,
                    account,
                    resource,
                    Status.FAIL,
                    f"Account {account.id} has no password policy (IAM's weak default applies).",
                )
            )
            continue
        weak: list[str] = []
        if policy.minimum_length < int(t("password_min_length")):
            weak.append(f"minimum length {policy.minimum_length} < {t('password_min_length')}")
        if (policy.reuse_prevention or 0) < int(t("password_reuse_prevention")):
            weak.append(f"reuse prevention {policy.reuse_prevention or 0} < {t('password_reuse_prevention')}")
        max_age = int(t("password_max_age_days"))
        if max_age and (policy.max_age_days is None or policy.max_age_days > max_age):
            weak.append(
                f"passwords expire after {policy.max_age_days} days (> {max_age})"
                if policy.max_age_days
                else f"passwords never expire (limit {max_age} days)"
            )
        for name, have in (
            ("symbols", policy.require_symbols),
            ("numbers", policy.require_numbers),
            ("uppercase", policy.require_uppercase),
            ("lowercase", policy.require_lowercase),
        ):
            if t(f"password_require_{name}") and not have:
                weak.append(f"{name} not required")
        if weak:
            results.append(
                result(
                    ID,
                    account,
                    resource,
                    Status.FAIL,
                    f"The password policy of account {account.id} is weak: {'; '.join(weak)}.",
                    weaknesses=weak,
                )
            )
        else:
            results.append(
                result(
                    ID,
                    account,
                    resource,
                    Status.PASS,
                    f"The password policy of account {account.id} meets the thresholds.",
                )
            )
    return results
