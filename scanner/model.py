"""The values that flow through a scan: where bytes came from, what was skipped, what was found.

Everything here is a frozen dataclass or a StrEnum so that values can cross process boundaries
(pickled to worker processes, later to Dask workers) and be compared and hashed safely.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from enum import StrEnum


class SourceKind(StrEnum):
    """Where a blob came from. Stored in the database and printed in every format."""

    FILE = "file"
    GIT = "git"
    IMAGE = "image"
    AMI = "ami"
    REMOTE = "remote"
    STDIN = "stdin"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe; used for sorting and `--fail-on` thresholds."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}

ARCHIVE_SEPARATOR = "!"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a blob lives.

    `origin` is what the user asked to scan (a directory, a repository, an image reference);
    `path` is relative to it. Members of archives are joined with `!` (`outer.zip!inner/file`),
    the convention gitleaks uses. `commit` and `blob_id` are filled in by history sources.
    """

    source: SourceKind
    origin: str
    path: str
    commit: str | None = None
    blob_id: str | None = None

    def member(self, name: str) -> Location:
        """The location of `name` inside the archive at this location."""
        return replace(self, path=f"{self.path}{ARCHIVE_SEPARATOR}{name}")

    @property
    def container_path(self) -> str:
        """The outermost real path (the archive itself for a member)."""
        return self.path.split(ARCHIVE_SEPARATOR, 1)[0]


@dataclass(frozen=True, slots=True)
class Lineage:
    """How a blob was rebuilt from an earlier blob of the same unit (a git pack delta): the base's
    blob id and the stretches copied from it, each (offset here, offset in the base, length),
    ascending. Whatever no stretch covers was inserted by the delta."""

    base_blob_id: str
    copies: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True, slots=True)
class Blob:
    """Bytes to scan and where they came from.

    `encoding` records the decoding chain that produced these bytes from the original
    (e.g. ("base64",) or ("gzip",)); empty for raw content.
    `first_line` and `first_column` locate the first byte (chunks of huge files start further down,
    possibly in the middle of a long line).
    `anchor`, when set, is the (line, column) in the parent blob that every match in this blob is
    reported at: used for values decoded in place (a base64 string on line 12 of a YAML file).
    `lineage` and `has_deltas` let the scan reuse work across versions of a file (`scanner.firstpass`).
    """

    location: Location
    data: bytes
    encoding: tuple[str, ...] = ()
    first_line: int = 1
    anchor: tuple[int, int] | None = None
    first_column: int = 1
    lineage: Lineage | None = None
    has_deltas: bool = False  # later blobs of the same unit are rebuilt from this one (their lineage)


class SkipReason(StrEnum):
    """Why an input was not (fully) scanned. Every skip is reported, never silently dropped."""

    UNREADABLE = "unreadable"
    TOO_LARGE = "too-large"
    BROKEN_ARCHIVE = "broken-archive"
    ARCHIVE_LIMIT = "archive-limit"
    ENCRYPTED = "encrypted"
    NOT_REGULAR = "not-a-regular-file"
    MISSING_OBJECT = "missing-object"
    EXCLUDED = "excluded"
    LFS_POINTER = "lfs-pointer"
    SHALLOW_HISTORY = "shallow-history"
    CONFIG_CHANGED = "config-changed"  # configuration or baseline changed by the scanned range
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input that was not scanned, or only partly, with a reason a person can act on."""

    location: Location
    reason: SkipReason
    detail: str


class TriageStatus(StrEnum):
    OPEN = "open"
    FALSE_POSITIVE = "false_positive"
    REVOKED = "revoked"
    ACCEPTED_RISK = "accepted_risk"

    @property
    def silences(self) -> bool:
        """A finding triaged this way is not reported as a new problem by later scans."""
        return self in (TriageStatus.FALSE_POSITIVE, TriageStatus.ACCEPTED_RISK)


@dataclass(frozen=True, slots=True)
class Finding:
    """One occurrence of a secret at one location.

    `secret` is held in memory only: outputs print `preview` unless the user passed
    `--show-secrets`, and the database stores `fingerprint`, `preview` and `key_id` only.
    `fingerprint` ignores line, column and commit, so the same secret found in many places
    (or through many commits) is one finding with many locations.
    `key_id` is set for AWS access keys (an identifier, not a secret), and `secret_found`
    says whether the matching secret access key was found with it.
    `suppressed_by` names the filter or allowlist that silenced the finding, if any.
    """

    rule_id: str
    rule_name: str
    severity: Severity
    location: Location
    line: int
    column: int
    secret: str
    fingerprint: str
    preview: str
    key_id: str | None = None
    secret_found: bool | None = None
    encoding: tuple[str, ...] = ()
    suppressed_by: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    def suppressed(self, by: str) -> Finding:
        return replace(self, suppressed_by=by)


def fingerprint_of(family: str, identity: str) -> str:
    """A stable, content-only identifier: sha256 of the rule family and the secret's identity.

    For AWS access keys the identity is the key id, so a key found alone in one file and with
    its secret in another is still one finding.
    """
    return hashlib.sha256(f"{family}\x00{identity}".encode()).hexdigest()


def redact(secret: str) -> str:
    """`AKIA…WXYZ`: enough to recognise a value, never enough to use it.

    Long values keep four characters at each end; shorter ones keep less, so that a short
    password never shows most of itself.
    """
    n = len(secret)
    if n >= 20:
        return f"{secret[:4]}…{secret[-4:]}"
    if n >= 10:
        return f"{secret[:2]}…{secret[-1:]}"
    return f"{secret[:1]}…" if n else ""
