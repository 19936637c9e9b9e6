"""Output formats by name. A new format is one module plus one line in REPORTERS."""

from __future__ import annotations

from scanner.report.csv_format import CsvReporter
from scanner.report.github import GithubReporter
from scanner.report.gitlab import GitlabReporter
from scanner.report.interface import Reporter, ReportError
from scanner.report.json_format import JsonLinesReporter, JsonReporter
from scanner.report.junit import JunitReporter
from scanner.report.sarif import SarifReporter
from scanner.report.text import TextReporter

REPORTERS: dict[str, type[Reporter]] = {
    "text": TextReporter,
    "json": JsonReporter,
    "jsonl": JsonLinesReporter,
    "sarif": SarifReporter,
    "csv": CsvReporter,
    "github": GithubReporter,
    "gitlab": GitlabReporter,
    "junit": JunitReporter,
}


def format_names() -> list[str]:
    """The format names in registration order (for `--format` choices and help)."""
    return list(REPORTERS)


def get_reporter(name: str) -> Reporter:
    """A reporter for the format `name`. Raises ReportError naming the choices."""
    reporter = REPORTERS.get(name.strip().lower())
    if reporter is None:
        choices = ", ".join(REPORTERS)
        raise ReportError(f"Unknown output format {name!r}; choose one of: {choices}.")
    return reporter()
