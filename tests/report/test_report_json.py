"""JSON and JSON Lines reports: they parse and carry the shared record fields."""

from __future__ import annotations

import json

from test_report_records import (
    ARCHIVE_PATH,
    COMMIT,
    KEY_ID,
    clean_result,
    render,
    sample_result,
)

from scanner import __version__
from scanner.report.records import FINDING_FIELDS
from scanner.result import OutputOptions


def test_json_document_shape() -> None:
    document = json.loads(render("json", sample_result()))
    assert list(document) == ["version", "tool", "scan", "findings", "skipped", "summary"]
    assert document["tool"] == {"name": "keysweep", "version": __version__}
    scan = document["scan"]
    assert scan["targets"] == ["."]
    assert scan["started_at"] == "2024-05-01T12:00:00+00:00"
    assert scan["duration_seconds"] == 2.1
    assert (scan["blobs"], scan["bytes"], scan["rules"]) == (1234, 56_700_000, 7)
    assert len(document["findings"]) == 4
    for finding in document["findings"]:
        assert set(FINDING_FIELDS) <= set(finding)
        assert "suppressed_by" not in finding and "secret" not in finding
    by_path = {f["path"]: f for f in document["findings"]}
    assert by_path["config/prod.env"]["key_id"] == KEY_ID
    assert by_path["config/prod.env"]["secret_found"] is True
    assert by_path[ARCHIVE_PATH]["encoding"] == ["base64"]
    assert by_path["settings/local.py"]["commit"] == COMMIT
    assert document["skipped"] == [
        {
            "source": "file",
            "origin": ".",
            "path": 'images/disk, "full".iso',
            "commit": None,
            "reason": "too-large",
            "detail": "3.1 GB is over the 2.1 GB limit,\nraise --max-file-size to scan it",
        }
    ]
    assert document["summary"]["total"] == 4
    assert document["summary"]["by_severity"]["critical"] == 1


def test_json_findings_are_in_a_stable_order() -> None:
    result = sample_result()
    reversed_result = type(result)(**{**result.__dict__, "findings": tuple(reversed(result.findings))})
    assert render("json", result) == render("json", reversed_result)


def test_json_suppressed_only_when_asked() -> None:
    document = json.loads(render("json", sample_result(), OutputOptions(show_suppressed=True)))
    assert [s["suppressed_by"] for s in document["suppressed"]] == ["placeholder", "inline-allow"]
    assert all(f["suppressed_by"] is None for f in document["findings"])


def test_json_clean() -> None:
    document = json.loads(render("json", clean_result()))
    assert document["findings"] == [] and document["skipped"] == []
    assert document["summary"]["total"] == 0


def test_jsonl_one_object_per_line_then_summary() -> None:
    text = render("jsonl", sample_result(), OutputOptions(show_suppressed=True))
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["type"] for line in lines] == ["finding"] * 4 + ["suppressed"] * 2 + ["skipped", "summary"]
    for line in lines[:6]:
        assert set(FINDING_FIELDS) <= set(line)
    assert lines[6]["reason"] == "too-large"
    summary = lines[-1]
    assert summary["total"] == 4 and summary["suppressed"] == 2 and summary["skipped"] == 1
    assert summary["scan"]["blobs"] == 1234


def test_jsonl_without_suppressed_and_clean() -> None:
    types = [json.loads(line)["type"] for line in render("jsonl", sample_result()).splitlines()]
    assert "suppressed" not in types
    clean = render("jsonl", clean_result()).splitlines()
    assert len(clean) == 1 and json.loads(clean[0])["type"] == "summary"


def test_streamed_document_equals_the_document_model() -> None:
    import io
    import json

    from scanner.report.json_format import JsonReporter, json_document
    from scanner.result import OutputOptions

    for options in (OutputOptions(), OutputOptions(show_suppressed=True, show_secrets=True)):
        result = sample_result()
        stream = io.StringIO()
        JsonReporter().write(result, options, stream)
        assert json.loads(stream.getvalue()) == json.loads(json.dumps(json_document(result, options)))
