"""The text report: findings, skipped inputs and the summary, readable and free of escapes off a terminal."""

from __future__ import annotations

import io

import pytest
from test_report_records import (
    ARCHIVE_PATH,
    COMMIT,
    KEY_ID,
    LONE_KEY_ID,
    LONG_PATH,
    base_result,
    clean_result,
    file_location,
    make_finding,
    paired_key,
    render,
    sample_result,
    too_large,
)

from scanner.model import Severity, redact
from scanner.report.text import TextReporter, human_bytes, human_duration, summary_line
from scanner.result import OutputOptions, ScanStats


def test_findings_skipped_and_summary() -> None:
    text = render("text", sample_result())
    assert "Findings (4)" in text
    assert "AWS access key (id and secret)" in text
    assert "config/prod.env:3:19" in text
    assert "CRITICAL" in text and "HIGH" in text and "MEDIUM" in text
    assert redact("Zq8Xv2LmN4pR7tY1wZ5bC9dF3gH6jK0sAu+eQiWo") in text
    assert f"key id {KEY_ID}  secret access key found" in text
    assert f"key id {LONE_KEY_ID}  secret access key not found" in text
    assert f"{ARCHIVE_PATH}:12:5" in text
    assert "decoded from base64" in text
    assert f"commit {COMMIT[:12]}" in text
    assert "Skipped (1)" in text
    assert 'images/disk, "full".iso  too-large: 3.1 GB is over the 2.1 GB limit' in text
    assert "Suppressed" not in text
    assert text.rstrip().splitlines()[-1] == (
        "4 findings (1 critical, 2 high, 1 medium) in 1,234 files, 56.7 MB, 2.1 s; "
        "2 suppressed; 1 input skipped"
    )


def test_no_escape_sequences_off_a_terminal() -> None:
    text = render("text", sample_result(), OutputOptions(show_suppressed=True))
    assert "\x1b" not in text
    assert "\x9b" not in text


def test_a_long_path_appears_whole() -> None:
    assert len(LONG_PATH) > 300
    text = render("text", sample_result())
    assert f"{LONG_PATH}:42:7" in text
    assert LONG_PATH in text.splitlines()  # the group header: the path alone on its line


def test_suppressed_with_filter_name_only_when_asked() -> None:
    text = render("text", sample_result(), OutputOptions(show_suppressed=True))
    assert "Suppressed (2)" in text
    assert "suppressed by inline-allow" in text
    assert "suppressed by placeholder" in text


def test_clean() -> None:
    text = render("text", clean_result())
    assert text.strip() == "No secrets found in 1,234 files, 56.7 MB, 2.1 s"
    skipped_only = render("text", base_result(skipped=(too_large(),)))
    assert skipped_only.rstrip().endswith("No secrets found in 1,234 files, 56.7 MB, 2.1 s; 1 input skipped")


def test_singular_summary() -> None:
    result = base_result(findings=(paired_key(),), stats=ScanStats(blobs=1, bytes=512, duration_seconds=0.04))
    assert summary_line(result) == "1 finding (1 critical) in 1 file, 512 B, 0.0 s"


def test_units() -> None:
    assert human_bytes(999) == "999 B"
    assert human_bytes(1_500) == "1.5 kB"
    assert human_bytes(3_100_000_000) == "3.1 GB"
    assert human_duration(2.14) == "2.1 s"
    assert human_duration(125) == "2 min 05 s"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    stream = _Terminal()
    TextReporter().write(sample_result(), OutputOptions(), stream)
    assert "\x1b[" in stream.getvalue()


def test_control_characters_from_scanned_content_are_escaped() -> None:
    hostile = make_finding(
        "slack-bot-token",
        "Slack bot token",
        Severity.HIGH,
        file_location("evil.zip!\x1b[2Jfake\nCRITICAL  forged line\u202e.txt"),
        "xoxb-1-2-\x1b]0;owned\x07",
    )
    text = render("text", base_result(findings=(hostile,)), OutputOptions(show_secrets=True))
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "evil.zip!\\x1b[2Jfake\\nCRITICAL  forged line\\u202e.txt:1:1" in text
    assert not any(line.startswith("CRITICAL") for line in text.splitlines())
