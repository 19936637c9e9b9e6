"""The shared record fields, the registry, and the sample scan results the other report tests use.

The builders here are plain functions (not fixtures) so that the other test modules of this folder can
import them: `from test_report_records import sample_result`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scanner.model import Finding, Location, Severity, Skipped, SkipReason, SourceKind, fingerprint_of, redact
from scanner.report.interface import Reporter, ReportError
from scanner.report.records import (
    FINDING_FIELDS,
    display_path,
    finding_fields,
    finding_record,
    relative_container_path,
    skipped_record,
    summary_record,
)
from scanner.report.registry import REPORTERS, get_reporter
from scanner.result import OutputOptions, ScanResult, ScanStats
from scanner.rules import Rule, load_builtin_rules

# Made up for keysweep's tests; not real credentials.
KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
LONE_KEY_ID = "ASIA3NQ5RWE7TY2UIOPL"
AWS_SECRET = "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"
SLACK_TOKEN = "xoxb-4815162342-1086420975-Gq7Rt2Wm9Kp4Zs8Vn3Bx6Hc1"
DB_PASSWORD = "Tr0ub4dor&3-Horse-Battery"
ALLOWED_SECRET = "Jk3Lm9Np2Qr7St5Vw1Xy8Za4Bc6De0Fg2Hi7Jk3L"
FILTERED_SECRET = "hunter2hunter2"
# Every value that must never appear in a report unless show_secrets (a lone key id is an id, printed).
SECRETS = (AWS_SECRET, SLACK_TOKEN, DB_PASSWORD, ALLOWED_SECRET, FILTERED_SECRET)

LONG_PATH = "deploy/" + "/".join(f"environment-{n:02d}-with-a-rather-long-directory-name" for n in range(8))
LONG_PATH += "/credentials-backup.md"
ARCHIVE_PATH = "dist/bundle.zip!app/settings.py"
COMMIT = "9f3c2b7a1e4d5c6b8a9f0e1d2c3b4a5f6e7d8c9b"

SLACK_RULE = Rule(
    id="slack-bot-token",
    name="Slack bot token",
    severity=Severity.HIGH,
    pattern=r"xoxb-[0-9A-Za-z-]{20,}",
    keywords=("xoxb-",),
    examples=("xoxb-4815162342-1086420975-Gq7Rt2Wm9Kp4Zs8Vn3Bx6Hc1",),
    references=("https://api.slack.com/authentication/token-types",),
    description="A Slack bot token. Revoke it in the app's OAuth settings.",
    tags=("slack",),
)
PASSWORD_RULE = Rule(
    id="generic-password",
    name="Password assignment",
    severity=Severity.MEDIUM,
    pattern=r"password\s*=\s*(\S+)",
    keywords=("password",),
    examples=("password = Tr0ub4dor&3-Horse-Battery",),
    tags=("generic",),
)


def file_location(path: str, origin: str = ".") -> Location:
    return Location(SourceKind.FILE, origin, path)


def make_finding(
    rule_id: str,
    rule_name: str,
    severity: Severity,
    location: Location,
    secret: str,
    *,
    line: int = 1,
    column: int = 1,
    key_id: str | None = None,
    secret_found: bool | None = None,
    encoding: tuple[str, ...] = (),
    suppressed_by: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> Finding:
    identity = key_id or secret
    family = "aws-access-key" if key_id else rule_id
    return Finding(
        rule_id=rule_id,
        rule_name=rule_name,
        severity=severity,
        location=location,
        line=line,
        column=column,
        secret=secret,
        fingerprint=fingerprint_of(family, identity),
        preview=redact(secret),
        key_id=key_id,
        secret_found=secret_found,
        encoding=encoding,
        suppressed_by=suppressed_by,
        extra=extra,
    )


def paired_key() -> Finding:
    return make_finding(
        "aws-access-key-id",
        "AWS access key (id and secret)",
        Severity.CRITICAL,
        file_location("config/prod.env"),
        AWS_SECRET,
        line=3,
        column=19,
        key_id=KEY_ID,
        secret_found=True,
    )


def lone_key() -> Finding:
    return make_finding(
        "aws-access-key-id",
        "AWS access key ID",
        Severity.HIGH,
        file_location(LONG_PATH),
        LONE_KEY_ID,
        line=42,
        column=7,
        key_id=LONE_KEY_ID,
        secret_found=False,
    )


def archived_token() -> Finding:
    return make_finding(
        "slack-bot-token",
        "Slack bot token",
        Severity.HIGH,
        file_location(ARCHIVE_PATH),
        SLACK_TOKEN,
        line=12,
        column=5,
        encoding=("base64",),
        extra=(("workspace", "acme"),),
    )


def git_password() -> Finding:
    return make_finding(
        "generic-password",
        "Password assignment",
        Severity.MEDIUM,
        Location(SourceKind.GIT, "https://git.test/acme/app.git", "settings/local.py", commit=COMMIT),
        DB_PASSWORD,
        line=8,
        column=12,
    )


def allowed_inline() -> Finding:
    return make_finding(
        "aws-secret-access-key",
        "AWS secret access key",
        Severity.CRITICAL,
        file_location("tests/fixtures/keys.txt"),
        ALLOWED_SECRET,
        line=2,
        column=1,
        suppressed_by="inline-allow",
    )


def allowed_by_filter() -> Finding:
    return make_finding(
        "generic-password",
        "Password assignment",
        Severity.MEDIUM,
        file_location("docs/setup.md"),
        FILTERED_SECRET,
        line=20,
        column=10,
        suppressed_by="placeholder",
    )


def too_large() -> Skipped:
    return Skipped(
        file_location('images/disk, "full".iso'),
        SkipReason.TOO_LARGE,
        "3.1 GB is over the 2.1 GB limit,\nraise --max-file-size to scan it",
    )


def base_result(**changes: object) -> ScanResult:
    values: dict[str, object] = {
        "targets": (".",),
        "started_at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        "stats": ScanStats(blobs=1234, bytes=56_700_000, duration_seconds=2.1, rules=7),
        "rules": (*load_builtin_rules(), SLACK_RULE, PASSWORD_RULE),
    }
    values.update(changes)
    return ScanResult(**values)  # type: ignore[arg-type]


def sample_result() -> ScanResult:
    """Four findings (with and without key ids, an archive member, a git commit), two suppressed, a skip."""
    return base_result(
        findings=(paired_key(), lone_key(), archived_token(), git_password()),
        suppressed=(allowed_inline(), allowed_by_filter()),
        skipped=(too_large(),),
    )


def clean_result() -> ScanResult:
    return base_result()


def render(format_name: str, result: ScanResult, options: OutputOptions | None = None) -> str:
    from io import StringIO

    stream = StringIO()
    get_reporter(format_name).write(result, options or OutputOptions(), stream)
    return stream.getvalue()


# --- records -----------------------------------------------------------------------------------------


def test_finding_record_has_the_shared_fields_in_order() -> None:
    record = finding_record(paired_key(), OutputOptions())
    assert list(record) == list(FINDING_FIELDS)
    assert record["rule_id"] == "aws-access-key-id"
    assert record["rule_name"] == "AWS access key (id and secret)"
    assert record["severity"] == "critical"
    assert record["source"] == "file"
    assert record["origin"] == "."
    assert record["path"] == "config/prod.env"
    assert (record["line"], record["column"]) == (3, 19)
    assert record["commit"] is None
    assert record["fingerprint"] == fingerprint_of("aws-access-key", KEY_ID)
    assert record["secret_preview"] == redact(AWS_SECRET)
    assert record["encoding"] == []
    assert record["key_id"] == KEY_ID
    assert record["secret_found"] is True
    assert AWS_SECRET not in record.values()


def test_archive_member_encoding_extra_and_commit() -> None:
    archived = finding_record(archived_token(), OutputOptions())
    assert archived["path"] == "dist/bundle.zip!app/settings.py"
    assert archived["encoding"] == ["base64"]
    assert archived["workspace"] == "acme"
    assert archived["key_id"] is None and archived["secret_found"] is None
    git = finding_record(git_password(), OutputOptions())
    assert git["source"] == "git" and git["commit"] == COMMIT


def test_secret_only_with_show_secrets_and_suppressed_by_only_with_show_suppressed() -> None:
    finding = allowed_inline()
    plain = finding_record(finding, OutputOptions())
    assert "secret" not in plain and "suppressed_by" not in plain
    shown = finding_record(finding, OutputOptions(show_secrets=True, show_suppressed=True))
    assert shown["secret"] == ALLOWED_SECRET
    assert shown["suppressed_by"] == "inline-allow"
    assert list(shown)[: len(finding_fields(OutputOptions(True, True)))] == finding_fields(
        OutputOptions(True, True)
    )


def test_an_extra_never_overwrites_a_core_field_or_the_secret() -> None:
    finding = make_finding(
        "slack-bot-token",
        "Slack bot token",
        Severity.HIGH,
        file_location("a.txt"),
        SLACK_TOKEN,
        extra=(("secret", "x"), ("path", "elsewhere"), ("tags", "t")),
    )
    record = finding_record(finding, OutputOptions())
    assert "secret" not in record
    assert record["path"] == "a.txt"
    assert (record["extra_secret"], record["extra_path"], record["extra_tags"]) == ("x", "elsewhere", "t")


def test_skipped_record() -> None:
    assert skipped_record(too_large()) == {
        "source": "file",
        "origin": ".",
        "path": 'images/disk, "full".iso',
        "commit": None,
        "reason": "too-large",
        "detail": "3.1 GB is over the 2.1 GB limit,\nraise --max-file-size to scan it",
    }


def test_summary_counts_by_severity() -> None:
    summary = summary_record(sample_result())
    assert summary == {
        "total": 4,
        "by_severity": {"critical": 1, "high": 2, "medium": 1, "low": 0, "info": 0},
        "suppressed": 2,
        "skipped": 1,
    }


@pytest.mark.parametrize(
    ("location", "display", "container"),
    [
        (file_location("a/b.py"), "a/b.py", "a/b.py"),
        (file_location("b.py", origin="src/a"), "src/a/b.py", "src/a/b.py"),
        (file_location("b.py", origin="./src/"), "src/b.py", "src/b.py"),
        (file_location("x.zip!in/c.py", origin="src"), "src/x.zip!in/c.py", "src/x.zip"),
        (file_location("b.py", origin="/home/runner/work/repo"), "/home/runner/work/repo/b.py", "b.py"),
        (file_location("app.env", origin="config/app.env"), "config/app.env", "config/app.env"),
        (file_location("sub\\c.py"), "sub/c.py", "sub/c.py"),
        (Location(SourceKind.GIT, "/repos/app", "src/c.py", commit=COMMIT), "src/c.py", "src/c.py"),
    ],
)
def test_paths_for_people_and_for_sarif(location: Location, display: str, container: str) -> None:
    assert display_path(location) == display
    assert relative_container_path(location) == container


# --- registry ----------------------------------------------------------------------------------------


def test_registry_has_every_format() -> None:
    assert list(REPORTERS) == ["text", "json", "jsonl", "sarif", "csv", "github", "gitlab", "junit"]
    for name in REPORTERS:
        reporter = get_reporter(name)
        assert isinstance(reporter, Reporter)
        assert reporter.name == name
        assert reporter.description


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(ReportError, match=r"'xml'.*text, json, jsonl, sarif, csv"):
        get_reporter("xml")


class _Broken:
    def write(self, _text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self) -> bool:
        return False

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("name", list(REPORTERS))
def test_an_unwritable_stream_is_a_report_error(name: str) -> None:
    with pytest.raises(ReportError, match="Broken pipe"):
        get_reporter(name).write(sample_result(), OutputOptions(), _Broken())  # type: ignore[arg-type]
