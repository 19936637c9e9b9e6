"""`.keysweep.toml`: which rules run, custom rules, and allowlists.

[rules]
disable = ["generic-password"]          # built-in rules to turn off
enable = ["some-default-off-rule"]      # rules shipped disabled to turn on

[[custom_rules]]                        # same keys as the files in patterns/
id = "acme-internal-token"
...

[allowlist]                             # applies to every rule
description = "fixtures"
paths = ['''^tests/fixtures/''']        # regexes over the path (archive members: outer.zip!inner)
values = ["AKIAIOSFODNN7EXAMPLE"]       # exact values (a key id, a secret)
regexes = ['''^dev-''']                 # regexes over the secret

[[allowlists]]                          # per-rule allowlists
rules = ["generic-password"]
paths = ['''\\.md$''']

[limits]
max_file_size = "512MB"

[iam]                                   # tracing AWS keys to their owners: see scanner/iam/config.py
role_name = "keysweep-readonly"

[ci]                                    # CI and hooks (see README "Use in CI")
fail_on = "high"                        # exit 1 only for findings of this severity or above
baseline = ".keysweep-baseline.json"    # known findings (keysweep baseline create), in the repository
gitleaks = true                         # also read .gitleaks.toml and .gitleaksignore (default)
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import regex

from scanner.iam.config import IamConfig, IamConfigError, parse_iam_config
from scanner.model import Severity
from scanner.policy import Allowlist, Policy
from scanner.rules import Rule, RuleError, check_unique, load_builtin_rules, rule_from_table

CONFIG_NAME = ".keysweep.toml"
_SIZE = regex.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B?)?\s*$", regex.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


class ConfigError(Exception):
    """The configuration is invalid. The message names the file and the key."""


@dataclass(frozen=True)
class Config:
    source: str | None = None
    disabled: frozenset[str] = frozenset()
    enabled: frozenset[str] = frozenset()
    custom_rules: tuple[Rule, ...] = ()
    policy: Policy = field(default_factory=Policy)
    max_file_size: int | None = None
    iam: IamConfig = field(default_factory=IamConfig)  # [iam]: see scanner/iam/config.py
    fail_on: Severity | None = None  # [ci] fail_on: the lowest severity that fails a scan (exit 1)
    baseline: str | None = None  # [ci] baseline: path of the baseline file, relative to the repository
    gitleaks: bool = True  # [ci] gitleaks: read .gitleaks.toml / .gitleaksignore too

    def select_rules(self, builtin: Iterable[Rule], extra_disabled: Iterable[str] = ()) -> list[Rule]:
        """The enabled rules: built-in defaults, plus enabled, minus disabled, plus custom."""
        builtin = list(builtin)
        known = {rule.id for rule in builtin} | {rule.id for rule in self.custom_rules}
        disabled = self.disabled | frozenset(extra_disabled)
        unknown = sorted((disabled | self.enabled) - known)
        if unknown:
            raise ConfigError(
                f"{self.source or 'command line'}: unknown rule id(s): {', '.join(unknown)} "
                "(see `keysweep rules` for the list)."
            )
        chosen = [r for r in builtin if (r.default_enabled or r.id in self.enabled) and r.id not in disabled]
        chosen.extend(r for r in self.custom_rules if r.id not in disabled)
        return chosen


def parse_size(text: str | int, where: str) -> int:
    if isinstance(text, int):
        return text
    match = _SIZE.match(text)
    if not match:
        raise ConfigError(f"{where}: {text!r} is not a size (try 100MB, 2GB).")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "").upper()[:1]])


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of strings.")
    return tuple(value)


def _allowlist(table: Mapping[str, Any], name: str, where: str) -> Allowlist:
    unknown = set(table) - {"description", "paths", "values", "regexes", "rules", "stopwords"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}.")
    allowlist = Allowlist(
        name=name,
        paths=_strings(table, "paths", where),
        values=_strings(table, "values", where),
        regexes=_strings(table, "regexes", where),
        rule_ids=_strings(table, "rules", where),
        description=str(table.get("description", "")),
        stopwords=_strings(table, "stopwords", where),
    )
    for pattern in allowlist.paths + allowlist.regexes:
        try:
            regex.compile(pattern)
        except regex.error as exc:
            raise ConfigError(f"{where}: the regex {pattern!r} does not compile: {exc}.") from None
    return allowlist


def parse_config(text: str, source: str) -> Config:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}.") from None
    unknown = set(document) - {"rules", "custom_rules", "allowlist", "allowlists", "limits", "iam", "ci"}
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}.")
    rules_table = document.get("rules", {})
    custom: list[Rule] = []
    try:
        for table in document.get("custom_rules", []):
            custom.append(rule_from_table(table, source))
        check_unique([*load_builtin_rules(), *custom])
    except RuleError as exc:
        raise ConfigError(str(exc)) from None
    allowlists: list[Allowlist] = []
    if "allowlist" in document:
        allowlists.append(_allowlist(document["allowlist"], "allowlist", f"{source} [allowlist]"))
    for index, table in enumerate(document.get("allowlists", []), start=1):
        allowlists.append(_allowlist(table, f"allowlists[{index}]", f"{source} [[allowlists]] #{index}"))
    limits = document.get("limits", {})
    max_file_size = None
    if "max_file_size" in limits:
        max_file_size = parse_size(limits["max_file_size"], f"{source} [limits] max_file_size")
    try:
        iam = parse_iam_config(document.get("iam", {}), source)
    except IamConfigError as exc:
        raise ConfigError(str(exc)) from None
    fail_on, baseline, gitleaks = _ci_section(document.get("ci", {}), f"{source} [ci]")
    return Config(
        source=source,
        disabled=frozenset(_strings(rules_table, "disable", f"{source} [rules]")),
        enabled=frozenset(_strings(rules_table, "enable", f"{source} [rules]")),
        custom_rules=tuple(custom),
        policy=Policy(allowlists=tuple(allowlists)),
        max_file_size=max_file_size,
        iam=iam,
        fail_on=fail_on,
        baseline=baseline,
        gitleaks=gitleaks,
    )


def parse_severity(text: str, where: str) -> Severity:
    try:
        return Severity(str(text).strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise ConfigError(f"{where}: {text!r} is not a severity (choose one of: {choices}).") from None


def _ci_section(table: Mapping[str, Any], where: str) -> tuple[Severity | None, str | None, bool]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: must be a table.")
    unknown = set(table) - {"fail_on", "baseline", "gitleaks"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}.")
    fail_on = parse_severity(table["fail_on"], f"{where} fail_on") if "fail_on" in table else None
    baseline = table.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline.strip()):
        raise ConfigError(f"{where}: `baseline` must be a path.")
    gitleaks = table.get("gitleaks", True)
    if not isinstance(gitleaks, bool):
        raise ConfigError(f"{where}: `gitleaks` must be true or false.")
    return fail_on, baseline, gitleaks


def config_from_text(text: str, source: str, relative_path: str = CONFIG_NAME) -> Config:
    """A configuration read from somewhere other than a file (a commit): `relative_path` is where it
    lives in the scanned tree, and findings in it are suppressed like those in a config file on disk."""
    config = parse_config(text, source)
    pattern = "^" + regex.escape(relative_path) + "$"
    allowlist = Allowlist(name="config-file", paths=(pattern,), description="keysweep's configuration")
    policy = Policy((*config.policy.allowlists, allowlist), config.policy.allowed_fingerprints)
    return replace(config, policy=policy)


def load_config(explicit: Path | None, roots: Iterable[Path]) -> Config:
    """`--config FILE` if given, else `.keysweep.toml` in the first scanned directory, else defaults."""
    candidates = [explicit] if explicit else [root / CONFIG_NAME for root in roots if root.is_dir()][:1]
    for path in candidates:
        if path is None:
            continue
        if not path.is_file():
            if explicit:
                raise ConfigError(f"{path}: no such configuration file.")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the configuration: {exc}.") from None
        config = parse_config(text, str(path))
        return _allow_the_config_file_itself(config, path, roots)
    return Config()


def _allow_the_config_file_itself(config: Config, path: Path, roots: Iterable[Path]) -> Config:
    """The configuration holds custom rules' examples and allowlisted values: findings in it are
    suppressed by a named allowlist (`config-file`), visible with --show-suppressed."""
    resolved = path.resolve()
    for root in roots:
        try:
            relative = resolved.relative_to(root.resolve())
        except ValueError:
            continue
        pattern = "^" + regex.escape(relative.as_posix()) + "$"
        allowlist = Allowlist(name="config-file", paths=(pattern,), description="keysweep's configuration")
        policy = Policy((*config.policy.allowlists, allowlist), config.policy.allowed_fingerprints)
        return replace(config, policy=policy)
    return config
