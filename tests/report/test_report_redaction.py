"""No format prints a secret unless the user asked for it; with show_secrets, each prints it as `secret`."""

from __future__ import annotations

import csv
import io
import json

import pytest
from test_report_records import SECRETS, render, sample_result

from scanner.model import redact
from scanner.report.registry import REPORTERS
from scanner.result import OutputOptions

FORMATS = list(REPORTERS)


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("show_suppressed", [False, True])
def test_no_secret_by_default(name: str, show_suppressed: bool) -> None:
    text = render(name, sample_result(), OutputOptions(show_suppressed=show_suppressed))
    for secret in SECRETS:
        assert secret not in text, f"{name} printed a secret"
        # Nor its JSON-escaped form.
        assert json.dumps(secret)[1:-1] not in text
    assert redact(SECRETS[0]) in text


@pytest.mark.parametrize("name", FORMATS)
def test_secrets_only_with_show_secrets(name: str) -> None:
    text = render(name, sample_result(), OutputOptions(show_secrets=True, show_suppressed=True))
    if name == "junit":  # XML escapes `&` and `<`: compare with the text a parser reads
        import html

        text = html.unescape(text)
    for secret in SECRETS:
        assert secret in text, f"{name} did not print {secret!r} with show_secrets"


def test_secret_field_in_structured_formats() -> None:
    options = OutputOptions(show_secrets=True)
    document = json.loads(render("json", sample_result(), options))
    assert {f["secret"] for f in document["findings"]} >= {SECRETS[0], SECRETS[1], SECRETS[2]}
    lines = [json.loads(line) for line in render("jsonl", sample_result(), options).splitlines()]
    assert all("secret" in line for line in lines if line["type"] == "finding")
    rows = list(csv.DictReader(io.StringIO(render("csv", sample_result(), options))))
    assert SECRETS[0] in {row["secret"] for row in rows}
    sarif = json.loads(render("sarif", sample_result(), options))
    results = sarif["runs"][0]["results"]
    assert SECRETS[0] in {r["properties"]["secret"] for r in results}
    assert all(SECRETS[0] not in r["message"]["text"] for r in results)
