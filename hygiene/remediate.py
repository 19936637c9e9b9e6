"""Opt-in, auditable remediation: deactivate a key, or quarantine its user (attach AWS's managed
`AWSDenyAll` policy). Dry-run unless `apply`; every action, planned or done or failed, is recorded in the
database (`hygiene.ledger`). The account is the one the key id encodes (decoded offline), or given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hygiene.ledger import Action, Ledger
from scanner.aws.accounts import RoleAccess, caller_identity
from scanner.aws.errors import AwsCallFailed, failure_of
from scanner.aws.session import AwsClients
from scanner.iam.config import IamConfig
from scanner.iam.keyid import decode_key_id, is_key_id

DENY_ALL = "arn:aws:iam::aws:policy/AWSDenyAll"


class RemediationError(Exception):
    """A remediation cannot be planned or done; a full sentence."""


@dataclass(frozen=True)
class Plan:
    action: str  # deactivate | quarantine
    account_id: str
    user: str
    key_id: str
    commands: tuple[str, ...]


def _iam(config: IamConfig, account: str) -> Any:
    clients = AwsClients(config.aws)
    try:
        caller = caller_identity(clients).account
        access = RoleAccess(
            clients,
            config.role_name,
            external_id=config.external_id,
            caller_account=caller,
            assume_in_caller_account=config.assume_in_caller_account,
        )
        return access.client(account, "iam")
    except AwsCallFailed as exc:
        raise RemediationError(f"Cannot enter account {account}: {exc.failure.reason}.") from exc


def plan(config: IamConfig, action: str, key_id: str, account: str | None = None) -> tuple[Plan, Any]:
    key_id = key_id.strip().upper()
    if not is_key_id(key_id):
        raise RemediationError(f"{key_id} is not an AWS access key id.")
    account = account or decode_key_id(key_id).account_id
    if not account:
        raise RemediationError(f"The key id {key_id} does not encode its account: pass --account.")
    iam = _iam(config, account)
    try:
        user = iam.get_access_key_last_used(AccessKeyId=key_id).get("UserName")
    except Exception as exc:
        reason = failure_of(exc, "iam:GetAccessKeyLastUsed", f"in account {account}").reason
        raise RemediationError(f"Cannot find who holds {key_id}: {reason}.") from exc
    if not user or user in ("root", "<root_account>"):
        raise RemediationError(
            f"{key_id} is a root access key: only the root user can deactivate it (sign in as root)."
        )
    p = f"--profile {account}"
    if action == "deactivate":
        commands = (
            f"aws iam update-access-key --user-name {user} --access-key-id {key_id} --status Inactive {p}",
        )
    else:
        commands = (f"aws iam attach-user-policy --user-name {user} --policy-arn {DENY_ALL} {p}",)
    return Plan(action, account, str(user), key_id, commands), iam


def remediate(
    config: IamConfig,
    ledger: Ledger,
    action: str,
    key_id: str,
    now: datetime,
    *,
    apply: bool,
    account: str | None = None,
    actor: str = "",
) -> tuple[Plan, str]:
    """Plan (and with `apply`, do) `action` on `key_id`; record it. Returns the plan and the outcome."""
    if action not in ("deactivate", "quarantine"):
        raise RemediationError(f"Unknown remediation {action!r}.")
    the_plan, iam = plan(config, action, key_id, account)
    if not apply:
        ledger.record_action(
            Action(
                now,
                action,
                the_plan.account_id,
                the_plan.user,
                the_plan.key_id,
                False,
                "planned",
                "; ".join(the_plan.commands),
                actor,
            )
        )
        return the_plan, "planned"
    try:
        if action == "deactivate":
            iam.update_access_key(UserName=the_plan.user, AccessKeyId=the_plan.key_id, Status="Inactive")
        else:
            iam.attach_user_policy(UserName=the_plan.user, PolicyArn=DENY_ALL)
    except Exception as exc:
        reason = failure_of(exc, f"iam:{action}", f"in account {the_plan.account_id}").reason
        ledger.record_action(
            Action(
                now,
                action,
                the_plan.account_id,
                the_plan.user,
                the_plan.key_id,
                True,
                "failed",
                reason,
                actor,
            )
        )
        raise RemediationError(f"The {action} of {the_plan.key_id} failed: {reason}.") from exc
    ledger.record_action(
        Action(
            now,
            action,
            the_plan.account_id,
            the_plan.user,
            the_plan.key_id,
            True,
            "done",
            "; ".join(the_plan.commands),
            actor,
        )
    )
    return the_plan, "done"
