"""The checks: one module per check id (`check(inventory, config, now) -> list[CheckResult]`) and a metadata
file of the same id (`<id>.toml`: title, severity, CIS / Security Hub controls, risk, remediation, the
thresholds it reads), validated at load by `load_checks` (`CheckError` names the file and the problem).

`run_checks` runs every check over one inventory, fills severity and controls from the metadata, applies
mutes (MUTED, with the reason), and turns a check that crashes into an ERROR result: never silence.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

from hygiene.config import HygieneConfig
from hygiene.model import CheckMeta, CheckResult, Inventory, Severity, Status

CheckFunction = Callable[[Inventory, HygieneConfig, datetime], list[CheckResult]]
REQUIRED = ("id", "title", "severity", "cis", "security_hub", "risk", "remediation", "resource_kind")
RESOURCE_KINDS = frozenset({"account", "root", "user", "key"})
# Report order: the most severe problems first.
ORDER = (
    "leaked_key_active",
    "root_access_keys",
    "root_mfa",
    "root_hardware_mfa",
    "root_recent_use",
    "admin_keys",
    "console_mfa",
    "key_rotation",
    "key_unused",
    "key_never_used",
    "multiple_active_keys",
    "console_unused",
    "password_policy",
)


class CheckError(ValueError):
    """A check's module or metadata is invalid."""


@dataclass(frozen=True, slots=True)
class Check:
    meta: CheckMeta
    run: CheckFunction


def parse_meta(text: str, source: str, known_thresholds: Iterable[str] = ()) -> CheckMeta:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CheckError(f"{source} is not valid TOML: {exc}.") from exc
    missing = [k for k in REQUIRED if not isinstance(data.get(k), str)]
    if missing:
        raise CheckError(f"{source}: missing or not a string: {', '.join(missing)}.")
    for key in ("title", "risk", "remediation"):
        if not data[key].strip():
            raise CheckError(f"{source}: `{key}` is empty.")
    unknown = set(data) - {*REQUIRED, "thresholds"}
    if unknown:
        raise CheckError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}.")
    try:
        severity = Severity(data["severity"])
    except ValueError:
        raise CheckError(
            f"{source}: severity {data['severity']!r} is not one of {', '.join(s.value for s in Severity)}."
        ) from None
    if data["resource_kind"] not in RESOURCE_KINDS:
        raise CheckError(f"{source}: resource_kind must be one of {', '.join(sorted(RESOURCE_KINDS))}.")
    thresholds = tuple(data.get("thresholds", ()))
    known = set(known_thresholds)
    bad = [t for t in thresholds if known and t not in known]
    if bad:
        raise CheckError(f"{source}: threshold(s) {', '.join(bad)} are not in the settings file.")
    return CheckMeta(
        data["id"],
        data["title"],
        severity,
        data["cis"],
        data["security_hub"],
        data["risk"],
        data["remediation"],
        data["resource_kind"],
        thresholds,
    )


@cache
def load_checks() -> tuple[Check, ...]:
    """Every check, in report order; raises CheckError when a module or metadata file is wrong."""
    from hygiene.config import load_config

    known = tuple(load_config().thresholds)
    folder = resources.files("hygiene.checks")
    ids = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))
    modules = sorted(
        p.name[:-3] for p in folder.iterdir() if p.name.endswith(".py") and not p.name.startswith("_")
    )
    if ids != modules:
        raise CheckError(
            f"Every check needs a module and a metadata file: modules {modules}, metadata {ids}."
        )
    checks: dict[str, Check] = {}
    for check_id in ids:
        source = f"hygiene/checks/{check_id}.toml"
        meta = parse_meta(folder.joinpath(f"{check_id}.toml").read_text("utf-8"), source, known)
        if meta.id != check_id:
            raise CheckError(f"{source}: id {meta.id!r} does not match the file name.")
        module = importlib.import_module(f"hygiene.checks.{check_id}")
        function = getattr(module, "check", None)
        if not callable(function) or getattr(module, "ID", None) != check_id:
            raise CheckError(f"hygiene/checks/{check_id}.py needs ID = {check_id!r} and a check() function.")
        checks[check_id] = Check(meta, function)
    order = [c for c in ORDER if c in checks] + sorted(set(checks) - set(ORDER))
    return tuple(checks[c] for c in order)


def select(only: Sequence[str] = ()) -> tuple[Check, ...]:
    checks = load_checks()
    if not only:
        return checks
    known = {c.meta.id for c in checks}
    unknown = [c for c in only if c not in known]
    if unknown:
        raise CheckError(f"Unknown check(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
    return tuple(c for c in checks if c.meta.id in only)


def run_checks(
    inventory: Inventory,
    config: HygieneConfig,
    now: datetime,
    checks: Sequence[Check] | None = None,
    owner_of: Callable[[CheckResult], str | None] | None = None,
) -> list[CheckResult]:
    """Every check's results, completed from its metadata, muted where configured, with their owner."""
    results: list[CheckResult] = []
    for problem in inventory.problems:
        results.append(
            CheckResult(
                "collection",
                "",
                "organization",
                Status.ERROR,
                f"Collection failed: {problem}.",
                Severity.HIGH,
            )
        )
    for check in checks if checks is not None else load_checks():
        meta = check.meta
        try:
            found = check.run(inventory, config, now)
        except Exception as exc:  # a bug in a check must show, not hide the account
            found = [
                CheckResult(
                    meta.id,
                    a.id,
                    f"arn:aws:iam::{a.id}:root",
                    Status.ERROR,
                    f"The check crashed: {type(exc).__name__}: {exc}.",
                    meta.severity,
                )
                for a in inventory.accounts
            ]
        for item in found:
            status, reason = item.status, None
            if status is Status.FAIL and config.mutes:
                mute = config.muted(meta.id, item.resource, item.key_id)
                if mute is not None:
                    status, reason = Status.MUTED, mute.reason
            results.append(
                CheckResult(  # built once (dataclasses.replace is slow over 10,000s of results)
                    item.check_id,
                    item.account_id,
                    item.resource,
                    status,
                    item.message,
                    meta.severity,
                    meta.cis,
                    meta.security_hub,
                    item.user,
                    item.key_id,
                    owner_of(item) if owner_of else item.owner,
                    reason,
                    item.details,
                )
            )
    return results
