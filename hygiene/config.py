"""The hygiene settings: thresholds (each read by the check its comment names), owners, mail, mutes.

Defaults live in `hygiene/thresholds.toml` (shipped, commented); a user file given with `--settings`
overrides key by key. Unknown keys and wrong types raise `HygieneConfigError` naming the file and key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


class HygieneConfigError(ValueError):
    """The hygiene settings are invalid; the message names the file and key."""


@dataclass(frozen=True, slots=True)
class Mute:
    check: str
    resource: str
    reason: str


@dataclass(frozen=True)
class HygieneConfig:
    thresholds: Mapping[str, Any]
    owners: Mapping[str, Any]
    mail: Mapping[str, Any]
    mutes: tuple[Mute, ...] = ()
    source: str = "defaults"

    def threshold(self, key: str) -> Any:
        return self.thresholds[key]

    def muted(self, check: str, resource: str, key_id: str | None = None) -> Mute | None:
        for mute in self.mutes:
            if mute.check in (check, "*") and mute.resource in ("*", resource, key_id):
                return mute
        return None


def _defaults() -> dict[str, Any]:
    text = resources.files("hygiene").joinpath("thresholds.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], table: Mapping[str, Any], section: str, source: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in table.items():
        if key not in base:
            raise HygieneConfigError(f"{source} [{section}]: unknown key `{key}`.")
        expected = type(base[key])
        ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
        if isinstance(value, bool) != isinstance(base[key], bool) or not ok:
            raise HygieneConfigError(
                f"{source} [{section}]: `{key}` must be a {expected.__name__}, not {value!r}."
            )
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise HygieneConfigError(f"{source} [{section}]: `{key}` cannot be negative.")
        merged[key] = value
    return merged


def load_config(path: Path | None = None) -> HygieneConfig:
    """The defaults, overridden by the file at `path` if given."""
    document = _defaults()
    sections = {name: dict(document[name]) for name in ("thresholds", "owners", "mail")}
    mutes: list[Mute] = []
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            user = tomllib.loads(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise HygieneConfigError(f"Cannot read the hygiene settings {path}: {exc.strerror}.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise HygieneConfigError(f"{path} is not valid TOML: {exc}.") from exc
        unknown = set(user) - {"thresholds", "owners", "mail", "mute"}
        if unknown:
            raise HygieneConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}.")
        for name in sections:
            table = user.get(name, {})
            if not isinstance(table, Mapping):
                raise HygieneConfigError(f"{path}: [{name}] must be a table.")
            sections[name] = _merge(sections[name], table, name, source)
        for item in user.get("mute", []):
            if not isinstance(item, Mapping) or not all(
                isinstance(item.get(k), str) and item.get(k) for k in ("check", "resource", "reason")
            ):
                raise HygieneConfigError(
                    f"{path} [[mute]]: each entry needs `check`, `resource` and a `reason` (strings)."
                )
            mutes.append(Mute(item["check"], item["resource"], item["reason"]))
    if sections["mail"]["transport"] not in ("smtp", "ses"):
        raise HygieneConfigError(f"{source} [mail]: `transport` must be smtp or ses.")
    return HygieneConfig(sections["thresholds"], sections["owners"], sections["mail"], tuple(mutes), source)
