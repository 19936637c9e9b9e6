"""Whom each result concerns: the first user tag (among [owners] tag_keys) holding an e-mail address, else
the mapping file (`[users]` "user" or "account/user", `[accounts]` "account"), else [owners] fallback."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from hygiene.config import HygieneConfig, HygieneConfigError
from hygiene.model import CheckResult, Inventory

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def load_mapping(path: str | Path | None) -> tuple[Mapping[str, str], Mapping[str, str]]:
    if not path:
        return {}, {}
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HygieneConfigError(f"Cannot read the owner mapping file {path}: {exc}.") from exc
    users, accounts = data.get("users", {}), data.get("accounts", {})
    if not isinstance(users, dict) or not isinstance(accounts, dict):
        raise HygieneConfigError(f"{path}: [users] and [accounts] must be tables of addresses.")
    return {str(k): str(v) for k, v in users.items()}, {str(k): str(v) for k, v in accounts.items()}


def owner_resolver(inventory: Inventory, config: HygieneConfig) -> Callable[[CheckResult], str]:
    """A function giving each result's owner (see the module docstring)."""
    users_map, accounts_map = load_mapping(config.owners.get("mapping_file"))
    tag_keys = [k.lower() for k in config.owners["tag_keys"]]
    fallback = str(config.owners["fallback"])
    tags: dict[tuple[str, str], Mapping[str, str]] = {
        (a.id, u.name): u.tags for a in inventory.accounts for u in a.users
    }

    def owner(result: CheckResult) -> str:
        if result.user and result.user != "root":
            lowered = {k.lower(): v for k, v in tags.get((result.account_id, result.user), {}).items()}
            for key in tag_keys:
                value = lowered.get(key, "").strip()
                if EMAIL.match(value):
                    return value
            for name in (f"{result.account_id}/{result.user}", result.user):
                if name in users_map:
                    return users_map[name]
        return accounts_map.get(result.account_id, fallback)

    return owner


def resolve_owners(
    results: list[CheckResult], inventory: Inventory, config: HygieneConfig
) -> list[CheckResult]:
    owner = owner_resolver(inventory, config)
    return [replace(r, owner=owner(r)) for r in results]
