"""SARIF: valid against the official 2.1.0 schema, and shaped the way GitHub code scanning needs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_report_records import (
    COMMIT,
    KEY_ID,
    base_result,
    clean_result,
    file_location,
    make_finding,
    render,
    sample_result,
)

from scanner.model import Severity
from scanner.report.sarif import SECURITY_SEVERITY
from scanner.result import OutputOptions, ScanResult

SCHEMA_NAME = "sarif-schema-2.1.0.json"


def _schema_path() -> Path | None:
    """$KEYSWEEP_SARIF_SCHEMA, else `shared/schemas/<name>` beside the repository (or any parent)."""
    override = os.environ.get("KEYSWEEP_SARIF_SCHEMA")
    if override:
        return Path(override)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "schemas" / SCHEMA_NAME
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    path = _schema_path()
    if path is None or not path.is_file():
        message = f"The SARIF schema ({SCHEMA_NAME}) was not found; set KEYSWEEP_SARIF_SCHEMA."
        if os.environ.get("CI"):
            pytest.fail(f"{message} In CI it must be present: the schema test may not be skipped.")
        pytest.skip(message)
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert "draft-07" in schema["$schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _sarif(result: ScanResult, options: OutputOptions | None = None) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render("sarif", result, options))
    return document


def _documents() -> dict[str, dict[str, Any]]:
    return {
        "clean": _sarif(clean_result()),
        "findings": _sarif(sample_result()),
        "suppressed": _sarif(sample_result(), OutputOptions(show_suppressed=True)),
        "secrets": _sarif(sample_result(), OutputOptions(show_secrets=True, show_suppressed=True)),
    }


@pytest.mark.parametrize("name", ["clean", "findings", "suppressed", "secrets"])
def test_validates_against_the_official_schema(validator: jsonschema.Draft7Validator, name: str) -> None:
    errors = sorted(validator.iter_errors(_documents()[name]), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_header_and_driver() -> None:
    document = _sarif(sample_result())
    assert document["version"] == "2.1.0"
    assert document["$schema"].startswith("https://")
    assert len(document["runs"]) == 1
    driver = document["runs"][0]["tool"]["driver"]
    assert driver["name"] == "keysweep"
    assert driver["version"] and driver["informationUri"].startswith("https://")


def test_rules_are_those_with_results_and_complete() -> None:
    run = _sarif(sample_result())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {"aws-access-key-id", "slack-bot-token", "generic-password"}
    for rule in rules:
        assert rule["name"][0].isupper() and "-" not in rule["name"]
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
        properties = rule["properties"]
        assert properties["tags"][:2] == ["security", "secret"]
        assert properties["security-severity"] in set(SECURITY_SEVERITY.values())
        assert properties["precision"] in {"high", "medium"}
    aws = next(r for r in rules if r["id"] == "aws-access-key-id")
    assert aws["helpUri"].startswith("https://docs.aws.amazon.com/")
    assert aws["helpUri"] in aws["help"]["markdown"]
    assert aws["properties"]["security-severity"] == "8.0"  # the rule is high; a paired key is critical
    assert "aws" in aws["properties"]["tags"]
    password = next(r for r in rules if r["id"] == "generic-password")
    assert "helpUri" not in password and password["properties"]["precision"] == "medium"


def test_results_are_shaped_for_github() -> None:
    run = _sarif(sample_result(), OutputOptions(show_suppressed=True))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == 6
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert len(result["partialFingerprints"]["keysweep/v1"]) == 64
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:")) and "://" not in uri and "\\" not in uri
        assert physical["region"]["startLine"] >= 1 and physical["region"].get("startColumn", 1) >= 1
        assert result["level"] in {"error", "warning", "note"}


def test_levels_messages_and_properties() -> None:
    results = {r["message"]["text"]: r for r in _sarif(sample_result())["runs"][0]["results"]}
    paired = next(r for text, r in results.items() if KEY_ID in text)
    assert paired["level"] == "error"
    assert "with its secret access key" in paired["message"]["text"]
    assert paired["properties"]["key_id"] == KEY_ID and paired["properties"]["secret_found"] is True
    assert paired["properties"]["security-severity"] == "9.5"
    medium = next(r for r in results.values() if r["ruleId"] == "generic-password")
    assert medium["level"] == "warning"
    assert COMMIT in medium["message"]["text"] and medium["properties"]["commit"] == COMMIT


def test_archive_member_points_at_the_archive() -> None:
    results = _sarif(sample_result())["runs"][0]["results"]
    archived = next(r for r in results if r["ruleId"] == "slack-bot-token")
    location = archived["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "dist/bundle.zip"
    assert location["physicalLocation"]["region"] == {"startLine": 1}
    message = archived["message"]["text"]
    assert "line 12, column 5 of archive member app/settings.py in dist/bundle.zip" in message
    assert (archived["properties"]["member_line"], archived["properties"]["member_column"]) == (12, 5)
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "dist/bundle.zip!app/settings.py"
    assert archived["properties"]["archive_member"] == "app/settings.py"
    assert archived["properties"]["path"] == "dist/bundle.zip!app/settings.py"


@pytest.mark.parametrize(
    ("origin", "path", "uri"),
    [
        (".", "src/app.py", "src/app.py"),
        ("services/api", "src/app.py", "services/api/src/app.py"),
        ("/home/runner/work/repo/repo", "src/app.py", "src/app.py"),
        (".", "docs/my notes#1.md", "docs/my%20notes%231.md"),
    ],
)
def test_uris_are_relative_posix_and_escaped(origin: str, path: str, uri: str) -> None:
    location = file_location(path, origin)
    finding = make_finding("slack-bot-token", "Slack bot token", Severity.LOW, location, "v")
    result = _sarif(base_result(findings=(finding,)))["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri
    assert result["level"] == "note"


def test_suppressions_only_when_asked() -> None:
    plain = _sarif(sample_result())["runs"][0]["results"]
    assert all("suppressions" not in r for r in plain)
    shown = _sarif(sample_result(), OutputOptions(show_suppressed=True))["runs"][0]["results"]
    suppressions = {
        r["suppressions"][0]["justification"]: r["suppressions"][0] for r in shown if "suppressions" in r
    }
    assert suppressions["inline-allow"]["kind"] == "inSource"
    assert suppressions["placeholder"]["kind"] == "external"
    rules = _sarif(sample_result(), OutputOptions(show_suppressed=True))["runs"][0]["tool"]["driver"]["rules"]
    assert "aws-secret-access-key" in {r["id"] for r in rules}


def test_skipped_inputs_are_notifications() -> None:
    invocation = _sarif(sample_result())["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["startTimeUtc"] == "2024-05-01T12:00:00.000000Z"
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["level"] == "warning"
    assert "too-large" in notification["message"]["text"]
    assert 'images/disk, "full".iso' in notification["message"]["text"]
    uri = notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "images/disk%2C%20%22full%22.iso"


def test_clean_run() -> None:
    run = _sarif(clean_result())["runs"][0]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []
    assert run["invocations"][0]["toolExecutionNotifications"] == []
