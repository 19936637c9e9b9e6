"""Which accounts are ours, and how keysweep enters each: Organizations listing, sts:AssumeRole per account.

Credentials come from the normal boto3 chain (environment, profile, SSO, instance role). Each of our
accounts is entered through one read-only role (`role_name`, optional `external_id`); in the caller's own
account the caller's credentials are used as they are unless `assume_in_caller_account` is set (a
management account usually has no copy of a role that StackSets deploy to member accounts).
Every failure raises `AwsCallFailed` carrying a `Failure`: the caller decides what it means.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from scanner.aws.errors import AwsCallFailed, Failure, FailureKind, failure_of
from scanner.aws.session import AwsClients, Credentials

SESSION_NAME = "keysweep"


@dataclass(frozen=True, slots=True)
class Account:
    """An AWS account keysweep knows about; `source` is `organization`, `configured` or `caller`."""

    id: str
    name: str = ""
    status: str = ""
    source: str = "configured"


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    account: str
    arn: str


def caller_identity(clients: AwsClients) -> CallerIdentity:
    try:
        answer = clients.client("sts").get_caller_identity()
    except Exception as exc:
        raise AwsCallFailed(
            failure_of(exc, "sts:GetCallerIdentity", "for keysweep's own credentials")
        ) from exc
    return CallerIdentity(str(answer["Account"]), str(answer["Arn"]))


def organization_accounts(clients: AwsClients) -> tuple[Account, ...]:
    """Every account of the caller's Organization (organizations:ListAccounts, from the management
    account or a delegated administrator), suspended ones included (their status says so)."""
    accounts: list[Account] = []
    try:
        paginator = clients.client("organizations").get_paginator("list_accounts")
        for page in paginator.paginate():
            for item in page.get("Accounts", []):
                status = str(item.get("State") or item.get("Status") or "")
                accounts.append(
                    Account(str(item["Id"]), str(item.get("Name", "")), status.upper(), "organization")
                )
    except Exception as exc:
        raise AwsCallFailed(failure_of(exc, "organizations:ListAccounts", "for the Organization")) from exc
    return tuple(accounts)


class RoleAccess:
    """Credentials and clients per account, through `role_name` (thread-safe; one AssumeRole per account
    per run, failures remembered so that a refused account is asked once)."""

    def __init__(
        self,
        clients: AwsClients,
        role_name: str,
        *,
        external_id: str | None = None,
        caller_account: str | None = None,
        assume_in_caller_account: bool = False,
        partition: str = "aws",
        duration_seconds: int = 3600,
    ) -> None:
        self.clients = clients
        self.role_name = role_name
        self.external_id = external_id or None
        self.caller_account = caller_account
        self.assume_in_caller_account = assume_in_caller_account
        self.partition = partition
        self.duration_seconds = duration_seconds
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._credentials: dict[str, Credentials | None] = {}
        self._failures: dict[str, Failure] = {}

    def role_arn(self, account_id: str) -> str:
        return f"arn:{self.partition}:iam::{account_id}:role/{self.role_name.strip('/')}"

    def uses_caller_credentials(self, account_id: str) -> bool:
        return account_id == self.caller_account and (not self.role_name or not self.assume_in_caller_account)

    def credentials(self, account_id: str) -> Credentials | None:
        """The credentials for `account_id` (None: the caller's own). Raises AwsCallFailed."""
        if self.uses_caller_credentials(account_id):
            return None
        with self._lock:
            lock = self._account_locks.setdefault(account_id, threading.Lock())
        with lock:
            if account_id in self._failures:
                raise AwsCallFailed(self._failures[account_id])
            if account_id in self._credentials:
                return self._credentials[account_id]
            try:
                found = self._assume(account_id)
            except AwsCallFailed as exc:
                self._failures[account_id] = exc.failure
                raise
            self._credentials[account_id] = found
            return found

    def client(self, account_id: str, service: str) -> object:
        return self.clients.client(service, self.credentials(account_id))

    def _assume(self, account_id: str) -> Credentials:
        where = f"for account {account_id}"
        if not self.role_name:
            raise AwsCallFailed(
                Failure(
                    FailureKind.DENIED,
                    "sts:AssumeRole",
                    "NoRoleConfigured",
                    "no role to assume is configured ([iam] role_name), and this is not the caller's account",
                    where,
                )
            )
        arn = self.role_arn(account_id)
        kwargs: dict[str, object] = {
            "RoleArn": arn,
            "RoleSessionName": SESSION_NAME,
            "DurationSeconds": self.duration_seconds,
        }
        if self.external_id:
            kwargs["ExternalId"] = self.external_id
        try:
            answer = self.clients.client("sts").assume_role(**kwargs)
        except Exception as exc:
            raise AwsCallFailed(failure_of(exc, "sts:AssumeRole", f"into {arn}")) from exc
        given = answer["Credentials"]
        return Credentials(
            str(given["AccessKeyId"]), str(given["SecretAccessKey"]), given.get("SessionToken") or None
        )
