"""Switching from gitleaks: read a repository's `.gitleaks.toml` allowlists and `.gitleaksignore`.

- `.gitleaks.toml`: the global `[allowlist]` table (gitleaks < 8.25) and `[[allowlists]]` tables
  (newer), with `paths`, `regexes`, `stopwords`, `commits`, `targetRules`, `regexTarget`, `condition`.
  Paths, regexes and stopwords become keysweep allowlists named `gitleaks[N]`; commits silence the
  findings located at those commits (`gitleaks[N]:commit`). What cannot be mapped faithfully is left
  out, with a note: `regexTarget = "line"` (keysweep's regexes see the secret, not the line),
  `condition = "AND"` over several kinds of check, per-rule allowlists inside `[[rules]]`, and
  `targetRules` that name no keysweep rule.
- `.gitleaksignore`: one gitleaks fingerprint per line, `commit:file:rule:line` (git scans) or
  `file:rule:line` (directory scans). keysweep's fingerprints are content-based, so an entry is mapped
  to "rule R at path P" (the commit and line are not used: code moves); a gitleaks rule id with no
  keysweep counterpart is reported as not mapped.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scanner.model import Finding
from scanner.policy import Allowlist
from scanner.result import ScanResult

GITLEAKS_CONFIG = ".gitleaks.toml"
GITLEAKS_IGNORE = ".gitleaksignore"

# gitleaks rule id -> keysweep rule ids. A gitleaks id equal to a keysweep id maps to itself.
RULE_MAP: Mapping[str, tuple[str, ...]] = {
    "aws-access-token": ("aws-access-key-id", "aws-secret-access-key"),
    "github-pat": ("github-personal-access-token",),
    "github-fine-grained-pat": ("github-fine-grained-token",),
    "github-oauth": ("github-oauth-token",),
    "github-app-token": ("github-app-user-token", "github-app-installation-token"),
    "gitlab-pat": ("gitlab-personal-access-token",),
    "gitlab-ptt": ("gitlab-pipeline-trigger-token",),
    "gitlab-rrt": ("gitlab-runner-registration-token",),
    "generic-api-key": (
        "generic-api-key-assignment",
        "generic-secret-assignment",
        "generic-token-assignment",
        "generic-password-assignment",
    ),
    "private-key": (
        "private-key-rsa",
        "private-key-ec",
        "private-key-dsa",
        "private-key-pkcs8",
        "private-key-openssh",
        "private-key-pgp",
    ),
    "jwt": ("json-web-token",),
    "gcp-api-key": ("google-api-key",),
    "sendgrid-api-token": ("sendgrid-api-key",),
    "slack-bot-token": ("slack-bot-token",),
    "slack-user-token": ("slack-user-token",),
    "slack-webhook-url": ("slack-incoming-webhook",),
    "stripe-access-token": ("stripe-live-secret-key", "stripe-live-restricted-key", "stripe-test-key"),
    "npm-access-token": ("npm-access-token",),
    "pypi-upload-token": ("pypi-upload-token",),
    "openai-api-key": ("openai-api-key",),
    "anthropic-api-key": ("anthropic-api-key",),
    "twilio-api-key": ("twilio-auth-token",),
    "heroku-api-key": ("heroku-api-key",),
    "hashicorp-tf-api-token": ("terraform-cloud-token",),
    "vault-service-token": ("hashicorp-vault-token",),
    "digitalocean-pat": ("digitalocean-personal-access-token",),
}
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


class GitleaksImportError(Exception):
    """A gitleaks file cannot be read. The message names it."""


@dataclass(frozen=True)
class IgnoreEntry:
    """A `.gitleaksignore` line mapped to keysweep: rule ids at a path."""

    path: str
    rule_ids: tuple[str, ...]
    line: str


@dataclass(frozen=True)
class GitleaksSettings:
    allowlists: tuple[Allowlist, ...] = ()
    commits: Mapping[str, str] = field(default_factory=dict)  # commit (prefix) -> allowlist name
    ignores: tuple[IgnoreEntry, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.allowlists or self.commits or self.ignores)


def map_rule(gitleaks_id: str, known: Iterable[str]) -> tuple[str, ...]:
    known = set(known)
    mapped = tuple(r for r in RULE_MAP.get(gitleaks_id, ()) if r in known)
    if not mapped and gitleaks_id in known:
        mapped = (gitleaks_id,)
    return mapped


def parse_gitleaks_config(text: str, source: str, known_rules: Iterable[str]) -> GitleaksSettings:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GitleaksImportError(f"{source}: not valid TOML: {exc}.") from None
    known = set(known_rules)
    tables: list[Mapping[str, Any]] = []
    if isinstance(document.get("allowlist"), dict):
        tables.append(document["allowlist"])
    tables.extend(t for t in document.get("allowlists", []) if isinstance(t, dict))
    allowlists: list[Allowlist] = []
    commits: dict[str, str] = {}
    notes: list[str] = []
    for index, table in enumerate(tables, start=1):
        name = f"gitleaks[{index}]"
        where = f"{source} allowlist #{index}"
        paths = _strings(table.get("paths"))
        regexes = _strings(table.get("regexes"))
        stopwords = _strings(table.get("stopwords"))
        listed_commits = [c.lower() for c in _strings(table.get("commits")) if _COMMIT.match(c.lower())]
        kinds = sum(bool(x) for x in (paths, regexes, stopwords, listed_commits))
        if str(table.get("condition", "OR")).upper() == "AND" and kinds > 1:
            notes.append(f'{where}: condition = "AND" over several checks cannot be mapped; not imported.')
            continue
        if regexes and str(table.get("regexTarget", "secret")).lower() == "line":
            notes.append(
                f'{where}: regexTarget = "line" cannot be mapped (keysweep matches the secret); '
                "its regexes are not imported."
            )
            regexes = ()
        rule_ids: tuple[str, ...] = ()
        targets = _strings(table.get("targetRules"))
        if targets:
            rule_ids = tuple(dict.fromkeys(r for t in targets for r in map_rule(t, known)))
            unmapped = [t for t in targets if not map_rule(t, known)]
            if unmapped:
                notes.append(f"{where}: targetRules {', '.join(unmapped)} have no keysweep counterpart.")
            if not rule_ids:
                notes.append(f"{where}: none of its targetRules maps to a keysweep rule; not imported.")
                continue
        bad = [p for p in (*paths, *regexes) if not _compiles(p)]
        if bad:
            notes.append(f"{where}: regex(es) {', '.join(map(repr, bad))} do not compile; not imported.")
            continue
        if paths or regexes or stopwords:
            allowlists.append(
                Allowlist(
                    name=name,
                    paths=paths,
                    regexes=regexes,
                    stopwords=stopwords,
                    rule_ids=rule_ids,
                    description=f"imported from {source}: {table.get('description', '')}".strip(": "),
                )
            )
        for commit in listed_commits:
            commits[commit] = name
    for rule in document.get("rules", []):
        if isinstance(rule, dict) and (rule.get("allowlist") or rule.get("allowlists")):
            notes.append(
                f"{source}: the allowlist of gitleaks rule {rule.get('id')!r} is not imported "
                "(per-rule allowlists of gitleaks rules: write them as [[allowlists]] in .keysweep.toml)."
            )
    return GitleaksSettings(tuple(allowlists), commits, (), tuple(notes))


def parse_gitleaksignore(
    text: str, source: str, known_rules: Iterable[str]
) -> tuple[list[IgnoreEntry], list[str]]:
    known = set(known_rules)
    entries: list[IgnoreEntry] = []
    notes: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(":", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            notes.append(f"{source}:{number}: not a gitleaks fingerprint (commit:file:rule:line); ignored.")
            continue
        head, rule, _line = parts
        commit, _, path = head.partition(":")
        if not (path and _COMMIT.match(commit)):
            path = head
        mapped = map_rule(rule, known)
        if not mapped:
            notes.append(
                f"{source}:{number}: gitleaks rule {rule!r} has no keysweep counterpart; not mapped."
            )
            continue
        entries.append(IgnoreEntry(path, mapped, line))
    return entries, notes


def apply(result: ScanResult, settings: GitleaksSettings) -> ScanResult:
    """Suppress the findings at allowlisted commits and those `.gitleaksignore` names (by path + rule)."""
    if not (settings.commits or settings.ignores):
        return result
    kept: list[Finding] = []
    moved: list[Finding] = []
    for finding in result.findings:
        reason = _reason(finding, settings, _commits_of(result.annotations.get(finding.fingerprint, {})))
        if reason is None:
            kept.append(finding)
        else:
            moved.append(finding.suppressed(reason))
    if not moved:
        return result
    return replace(result, findings=tuple(kept), suppressed=result.suppressed + tuple(moved))


def _commits_of(annotations: Mapping[str, Any]) -> list[str]:
    """The commits a history scan's provenance names for a finding (first and later sightings)."""
    provenance = annotations.get("provenance") or {}
    sightings = [provenance.get("first") or {}, *(provenance.get("later") or [])]
    return [str(s["commit"]) for s in sightings if isinstance(s, dict) and s.get("commit")]


def _reason(finding: Finding, settings: GitleaksSettings, commits: list[str]) -> str | None:
    candidates = [c.lower() for c in (finding.location.commit, *commits) if c]
    for commit in candidates:
        for prefix, name in settings.commits.items():
            if commit.startswith(prefix):
                return f"{name}:commit"
    path = finding.location.path
    for entry in settings.ignores:
        if finding.rule_id in entry.rule_ids and (path == entry.path or path.endswith("/" + entry.path)):
            return "gitleaksignore"
    return None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _compiles(pattern: str) -> bool:
    import regex

    try:
        regex.compile(pattern)
    except regex.error:
        return False
    return True
