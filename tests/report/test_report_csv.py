"""CSV report: parses with the csv module, columns follow the record, skipped inputs are listed."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from test_report_records import ARCHIVE_PATH, KEY_ID, clean_result, render, sample_result

from scanner.report.records import FINDING_FIELDS
from scanner.result import OutputOptions


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


def test_header_and_rows() -> None:
    header, rows = _rows(render("csv", sample_result()))
    assert header[: len(FINDING_FIELDS)] == list(FINDING_FIELDS)
    assert header[-2:] == ["skipped_reason", "skipped_detail"]
    assert "workspace" in header  # an `extra` field of the archived finding
    findings = [r for r in rows if r["rule_id"]]
    assert len(findings) == 4
    paired = next(r for r in findings if r["path"] == "config/prod.env")
    assert paired["key_id"] == KEY_ID and paired["secret_found"] == "true"
    archived = next(r for r in findings if r["path"] == ARCHIVE_PATH)
    assert archived["encoding"] == "base64" and archived["workspace"] == "acme"
    assert archived["commit"] == "" and archived["key_id"] == ""


def test_skipped_inputs_follow_the_findings_properly_quoted() -> None:
    _header, rows = _rows(render("csv", sample_result()))
    skipped = rows[-1]
    assert skipped["rule_id"] == ""
    assert skipped["skipped_reason"] == "too-large"
    assert skipped["path"] == 'images/disk, "full".iso'
    assert skipped["skipped_detail"] == "3.1 GB is over the 2.1 GB limit,\nraise --max-file-size to scan it"
    assert all(r["skipped_reason"] == "" for r in rows[:-1])


def test_suppressed_rows_only_when_asked() -> None:
    header, rows = _rows(render("csv", sample_result(), OutputOptions(show_suppressed=True)))
    assert "suppressed_by" in header
    assert sorted(r["suppressed_by"] for r in rows if r["suppressed_by"]) == ["inline-allow", "placeholder"]
    assert "suppressed_by" not in _rows(render("csv", sample_result()))[0]


def test_clean_has_a_header_only() -> None:
    header, rows = _rows(render("csv", clean_result()))
    assert header[: len(FINDING_FIELDS)] == list(FINDING_FIELDS)
    assert rows == []


def test_cells_that_a_spreadsheet_would_evaluate_are_quoted() -> None:
    result = sample_result()
    hostile = [
        replace(f, location=replace(f.location, path='=HYPERLINK("http://evil.example","x")'))
        for f in result.findings
    ]
    _header, rows = _rows(render("csv", replace(result, findings=tuple(hostile))))
    findings = [r for r in rows if r["rule_id"]]
    assert findings and all(r["path"] == '\'=HYPERLINK("http://evil.example","x")' for r in findings)
    assert all(r["line"].lstrip("-").isdigit() for r in findings)  # numbers are left alone
