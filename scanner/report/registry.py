"""Output formats by name. A new format is one module plus one line in REPORTERS.

Each format is named by its module and class and imported only when chosen: `--format json` in a CI
step does not load rich (the text format) or the XML library (JUnit).
"""

from __future__ import annotations

import importlib

from scanner.report.interface import Reporter, ReportError

# format name -> (module, class)
REPORTERS: dict[str, tuple[str, str]] = {
    "text": ("scanner.report.text", "TextReporter"),
    "json": ("scanner.report.json_format", "JsonReporter"),
    "jsonl": ("scanner.report.json_format", "JsonLinesReporter"),
    "sarif": ("scanner.report.sarif", "SarifReporter"),
    "csv": ("scanner.report.csv_format", "CsvReporter"),
    "github": ("scanner.report.github", "GithubReporter"),
    "gitlab": ("scanner.report.gitlab", "GitlabReporter"),
    "junit": ("scanner.report.junit", "JunitReporter"),
}


def format_names() -> list[str]:
    """The format names in registration order (for `--format` choices and help)."""
    return list(REPORTERS)


def get_reporter(name: str) -> Reporter:
    """A reporter for the format `name` (its module imported now). Raises ReportError naming the choices."""
    entry = REPORTERS.get(name.strip().lower())
    if entry is None:
        choices = ", ".join(REPORTERS)
        raise ReportError(f"Unknown output format {name!r}; choose one of: {choices}.")
    module, attribute = entry
    reporter: type[Reporter] = getattr(importlib.import_module(module), attribute)
    return reporter()
