"""Turn the engine's raw matches in one blob into findings: pair AWS keys, fingerprint, redact, filter.

Pure: bytes and rules in, Finding values out. Suppressed findings are returned too, flagged with the
filter that fired, so that `--show-suppressed` can list them and nothing vanishes unexplained.
"""

from __future__ import annotations

from scanner.detectors.aws import KEY_FAMILY, KEY_ID_RULES, SECRET_RULE, pair_secrets
from scanner.engine import Engine, RawMatch, Windows
from scanner.filters import first_filter_that_fires, line_has_inline_allow
from scanner.model import Blob, Finding, Severity, fingerprint_of, redact
from scanner.policy import Policy
from scanner.rules import Rule

PAIRED_NAME = "AWS access key (id and secret)"


class Detector:
    def __init__(self, engine: Engine, policy: Policy | None = None) -> None:
        self.engine = engine
        self.policy = policy or Policy()
        self.rules = engine.rules

    def findings(self, blob: Blob, windows: Windows | None = None) -> list[Finding]:
        """`windows`: the engine's prefilter windows for this blob, if a shared pass made them."""
        raw = self.engine.scan(blob.data, blob.first_line, blob.first_column, windows)
        if not raw:
            return []
        rules = self.rules
        key_ids = [m for m in raw if rules[m.rule_index].id in KEY_ID_RULES]
        named_secrets = [m for m in raw if rules[m.rule_index].id == SECRET_RULE]
        pairings, used = pair_secrets(blob.data, key_ids, named_secrets) if key_ids else ({}, set())
        used_ids = {id(named_secrets[i]) for i in used}
        key_index = {id(m): i for i, m in enumerate(key_ids)}
        specific = [(m.secret_start, m.secret_end) for m in raw if "generic" not in rules[m.rule_index].tags]
        results: list[Finding] = []
        seen: set[tuple[str, int, int]] = set()
        for match in raw:
            if id(match) in used_ids:
                continue
            if "generic" in rules[match.rule_index].tags and _overlaps_any(match, specific):
                continue  # a specific rule already reports this secret, with a better name
            rule = rules[match.rule_index]
            if id(match) in key_index:
                finding = self._key_finding(blob, rule, match, pairings.get(key_index[id(match)]))
            else:
                finding = self._plain_finding(blob, rule, match)
            marker = (finding.fingerprint, finding.line, finding.column)
            if marker in seen:
                continue
            seen.add(marker)
            results.append(finding)
        return results

    def _position(self, blob: Blob, match: RawMatch) -> tuple[int, int]:
        return blob.anchor if blob.anchor is not None else (match.line, match.column)

    def _plain_finding(self, blob: Blob, rule: Rule, match: RawMatch) -> Finding:
        secret = blob.data[match.secret_start : match.secret_end].decode("utf-8", "replace")
        fingerprint = fingerprint_of(rule.id, secret)
        line, column = self._position(blob, match)
        suppressed_by = first_filter_that_fires(rule, secret) or self._context_suppression(
            blob, rule, match, fingerprint, (secret,)
        )
        extra: tuple[tuple[str, str], ...] = ()
        return Finding(
            rule_id=rule.id,
            rule_name=rule.name,
            severity=rule.severity,
            location=blob.location,
            line=line,
            column=column,
            secret=secret,
            fingerprint=fingerprint,
            preview=redact(secret),
            encoding=blob.encoding,
            suppressed_by=suppressed_by,
            extra=extra,
        )

    def _key_finding(self, blob: Blob, rule: Rule, match: RawMatch, pairing: object | None) -> Finding:
        key_id_bytes = match.group("key_id") or blob.data[match.secret_start : match.secret_end]
        key_id = key_id_bytes.decode("ascii", "replace")
        secret = getattr(pairing, "secret", None)
        fingerprint = fingerprint_of(KEY_FAMILY, key_id)
        line, column = self._position(blob, match)
        values = (key_id, secret) if secret else (key_id,)
        suppressed_by = first_filter_that_fires(rule, key_id)
        if suppressed_by is None and secret:
            suppressed_by = first_filter_that_fires(rule, secret)
        if suppressed_by is None:
            suppressed_by = self._context_suppression(blob, rule, match, fingerprint, values)
        extra: list[tuple[str, str]] = []
        scope = match.group("scope")
        if scope:
            extra.append(("credential_scope", scope.decode("ascii", "replace")))
        return Finding(
            rule_id=rule.id,
            rule_name=PAIRED_NAME if secret else rule.name,
            severity=Severity.CRITICAL if secret else rule.severity,
            location=blob.location,
            line=line,
            column=column,
            secret=secret or key_id,
            fingerprint=fingerprint,
            preview=redact(secret or key_id),
            key_id=key_id,
            secret_found=secret is not None,
            encoding=blob.encoding,
            suppressed_by=suppressed_by,
            extra=tuple(extra),
        )

    def _context_suppression(
        self, blob: Blob, rule: Rule, match: RawMatch, fingerprint: str, values: tuple[str, ...]
    ) -> str | None:
        if blob.anchor is None and line_has_inline_allow(blob.data, match.secret_start):
            return "inline-allow"
        return self.policy.suppression(rule.id, blob.location.path, fingerprint, values)


def _overlaps_any(match: RawMatch, spans: list[tuple[int, int]]) -> bool:
    return any(start < match.secret_end and match.secret_start < end for start, end in spans)
