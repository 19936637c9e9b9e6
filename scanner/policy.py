"""What the user has said to allow: allowlists by path, value and regex, optionally per rule.

Built from `.keysweep.toml` / `--config` by scanner.config; consulted by the detector. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import regex


@dataclass(frozen=True)
class Allowlist:
    """One allowlist. Empty `rule_ids` means every rule. Each entry names itself in `suppressed_by`."""

    name: str = "allowlist"
    paths: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()
    description: str = ""
    stopwords: tuple[str, ...] = ()  # a secret containing one of these (any case) is allowed (gitleaks)

    @cached_property
    def _path_patterns(self) -> tuple[regex.Pattern[str], ...]:
        return tuple(regex.compile(p) for p in self.paths)

    @cached_property
    def _value_patterns(self) -> tuple[regex.Pattern[str], ...]:
        return tuple(regex.compile(p) for p in self.regexes)

    def covers_rule(self, rule_id: str) -> bool:
        return not self.rule_ids or rule_id in self.rule_ids

    def path_allowed(self, path: str) -> bool:
        return any(p.search(path) for p in self._path_patterns)

    def reason_for(self, rule_id: str, path: str, values: tuple[str, ...]) -> str | None:
        """Why this allowlist silences a finding, or None."""
        if not self.covers_rule(rule_id):
            return None
        if self._path_patterns and self.path_allowed(path):
            return f"{self.name}:path"
        for value in values:
            if value in self.values:
                return f"{self.name}:value"
            if any(p.search(value) for p in self._value_patterns):
                return f"{self.name}:regex"
            if self.stopwords and any(word.lower() in value.lower() for word in self.stopwords):
                return f"{self.name}:stopword"
        return None


@dataclass(frozen=True)
class Policy:
    allowlists: tuple[Allowlist, ...] = ()
    allowed_fingerprints: frozenset[str] = field(default_factory=frozenset)

    def suppression(self, rule_id: str, path: str, fingerprint: str, values: tuple[str, ...]) -> str | None:
        if fingerprint in self.allowed_fingerprints:
            return "ignored-fingerprint"
        for allowlist in self.allowlists:
            reason = allowlist.reason_for(rule_id, path, values)
            if reason:
                return reason
        return None

    def path_excluded(self, path: str) -> bool:
        """A path that every rule allows need not be read at all."""
        return any(a.paths and not a.rule_ids and a.path_allowed(path) for a in self.allowlists)
