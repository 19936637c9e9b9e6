"""The `[iam]` section of `.keysweep.toml`: which accounts are ours, how to enter them, how hard to ask.

    [iam]
    organization = true                  # our accounts: every account of the Organization (ListAccounts)
    accounts = ["111122223333"]          # and/or these
    role_name = "keysweep-readonly"      # read-only role assumed in each of our accounts
    external_id = "..."                  # if the role's trust policy requires one
    assume_in_caller_account = false     # in the caller's own account, use its credentials as they are
    owner_tag_keys = ["owner", "email", "contact"]   # user tags naming whom to contact, in order
    canary_accounts = ["210987654321"]   # more canary-token accounts (never contacted)
    cache_ttl = "24h"                    # reuse what is stored for a key id for this long
    per_account_concurrency = 4          # calls at once into one account
    max_workers = 16                     # calls at once in total
    verify_rate = 1.0                    # --verify: leaked-key checks per second, at most
    profile = "audit"                    # AWS profile (default: the normal credential chain)
    region = "us-east-1"
    endpoint_url = "http://127.0.0.1:5000"   # default: $AWS_ENDPOINT_URL, else AWS
    retry_mode = "adaptive"              # botocore retry mode: adaptive or standard
    max_attempts = 6                     # per call, throttling retries included

Parsing raises `IamConfigError` naming the key; `scanner.config` turns it into a `ConfigError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scanner.aws.settings import RETRY_MODES, AwsSettings

DEFAULT_OWNER_TAG_KEYS = ("owner", "email", "contact", "team")
DEFAULT_ROLE_NAME = "keysweep-readonly"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ACCOUNT = re.compile(r"^\d{12}$")


class IamConfigError(ValueError):
    """The [iam] configuration is invalid; the message names the key."""


@dataclass(frozen=True)
class IamConfig:
    organization: bool = True
    accounts: tuple[str, ...] = ()
    role_name: str = DEFAULT_ROLE_NAME
    external_id: str | None = None
    assume_in_caller_account: bool = False
    owner_tag_keys: tuple[str, ...] = DEFAULT_OWNER_TAG_KEYS
    canary_accounts: Mapping[str, str] = field(default_factory=dict)
    cache_ttl_seconds: float = 24 * 3600.0
    verify_rate: float = 1.0
    aws: AwsSettings = field(default_factory=AwsSettings)


_KEYS = frozenset(
    {
        "organization",
        "accounts",
        "role_name",
        "external_id",
        "assume_in_caller_account",
        "owner_tag_keys",
        "canary_accounts",
        "cache_ttl",
        "per_account_concurrency",
        "max_workers",
        "verify_rate",
        "profile",
        "region",
        "endpoint_url",
        "retry_mode",
        "max_attempts",
    }
)


def parse_duration(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise IamConfigError(f'{where}: {value!r} is not a duration (try 3600, "30m", "24h", "7d").')
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise IamConfigError(f'{where}: {value!r} is not a duration (try 3600, "30m", "24h", "7d").')
        seconds = float(match.group(1)) * _SECONDS[match.group(2).lower()]
    if seconds < 0:
        raise IamConfigError(f"{where}: a duration cannot be negative.")
    return seconds


def _string(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise IamConfigError(f"{where}: `{key}` must be a string.")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise IamConfigError(f"{where}: `{key}` must be a list of strings.")
    return tuple(value)


def _accounts(values: tuple[str, ...], key: str, where: str) -> tuple[str, ...]:
    bad = [v for v in values if not _ACCOUNT.match(v.strip())]
    if bad:
        raise IamConfigError(
            f"{where}: `{key}` holds {', '.join(map(repr, bad))}: account ids are 12 digits."
        )
    return tuple(dict.fromkeys(v.strip() for v in values))


def _number(table: Mapping[str, Any], key: str, where: str, minimum: float) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise IamConfigError(f"{where}: `{key}` must be a number of at least {minimum:g}.")
    return float(value)


def parse_iam_config(table: Mapping[str, Any], source: str) -> IamConfig:
    """The [iam] table of a configuration file (`source` names it in errors)."""
    where = f"{source} [iam]"
    if not isinstance(table, Mapping):
        raise IamConfigError(f"{where}: must be a table.")
    unknown = set(table) - _KEYS
    if unknown:
        raise IamConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}.")
    config = IamConfig()
    changes: dict[str, Any] = {}
    if "organization" in table:
        if not isinstance(table["organization"], bool):
            raise IamConfigError(f"{where}: `organization` must be true or false.")
        changes["organization"] = table["organization"]
    if "assume_in_caller_account" in table:
        if not isinstance(table["assume_in_caller_account"], bool):
            raise IamConfigError(f"{where}: `assume_in_caller_account` must be true or false.")
        changes["assume_in_caller_account"] = table["assume_in_caller_account"]
    accounts = _strings(table, "accounts", where)
    if accounts is not None:
        changes["accounts"] = _accounts(accounts, "accounts", where)
    role_name = _string(table, "role_name", where)
    if role_name is not None:
        changes["role_name"] = role_name.strip()
    external_id = _string(table, "external_id", where)
    if external_id is not None:
        changes["external_id"] = external_id or None
    tag_keys = _strings(table, "owner_tag_keys", where)
    if tag_keys is not None:
        changes["owner_tag_keys"] = tag_keys
    canaries = table.get("canary_accounts")
    if canaries is not None:
        if isinstance(canaries, Mapping):
            ids = _accounts(tuple(str(k) for k in canaries), "canary_accounts", where)
            changes["canary_accounts"] = {k: str(canaries[k]) for k in ids}
        else:
            ids = _accounts(_strings(table, "canary_accounts", where) or (), "canary_accounts", where)
            changes["canary_accounts"] = {k: "configured canary account" for k in ids}
    if "cache_ttl" in table:
        changes["cache_ttl_seconds"] = parse_duration(table["cache_ttl"], f"{where} cache_ttl")
    verify_rate = _number(table, "verify_rate", where, 0)
    if verify_rate is not None:
        changes["verify_rate"] = verify_rate
    aws = config.aws
    aws_changes: dict[str, Any] = {}
    for key in ("profile", "region", "endpoint_url"):
        value = _string(table, key, where)
        if value:
            aws_changes[key] = value
    retry_mode = _string(table, "retry_mode", where)
    if retry_mode is not None:
        if retry_mode not in RETRY_MODES:
            raise IamConfigError(f"{where}: `retry_mode` must be one of {', '.join(RETRY_MODES)}.")
        aws_changes["retry_mode"] = retry_mode
    for key, minimum in (("max_attempts", 1), ("per_account_concurrency", 1), ("max_workers", 1)):
        number = _number(table, key, where, minimum)
        if number is not None:
            aws_changes[key] = int(number)
    if aws_changes:
        changes["aws"] = replace(aws, **aws_changes)
    return replace(config, **changes)
