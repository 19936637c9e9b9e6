"""CSV: a header row, one row per finding, then one row per skipped input.

Columns are the record fields of scanner.report.records in their order, then any `extra` fields
(in order of first appearance), then `skipped_reason` and `skipped_detail`. A skipped input's row has
an empty `rule_id` and a filled `skipped_reason`, so skipped inputs are listed in every format.
Lists are joined with `+` (`gzip+base64`), booleans read `true`/`false`, null is an empty cell.

Paths, commit messages and secrets come from the scanned content: a text cell that starts with `=`,
`+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so that a spreadsheet opening the report
shows it instead of evaluating it as a formula (a file named `=HYPERLINK(...)` is a known trick).
"""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from scanner.report.interface import Reporter, ReportError
from scanner.report.records import (
    finding_fields,
    finding_record,
    ordered,
    ordered_skipped,
    skipped_record,
)
from scanner.result import OutputOptions, ScanResult

SKIPPED_COLUMNS = ("skipped_reason", "skipped_detail")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return _text("+".join(str(v) for v in value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, str):
        return _text(value)
    return str(value)


class CsvReporter(Reporter):
    name = "csv"
    description = "Comma-separated values: one row per finding, then skipped inputs."

    def write(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        findings = ordered(result.findings)
        if options.show_suppressed:
            findings += ordered(result.suppressed)
        records = [finding_record(f, options, result.annotations.get(f.fingerprint)) for f in findings]
        columns = finding_fields(options)
        for record in records:
            columns.extend(key for key in record if key not in columns)
        columns.extend(SKIPPED_COLUMNS)

        rows: list[dict[str, str]] = [{k: _cell(v) for k, v in record.items()} for record in records]
        for skipped in ordered_skipped(result.skipped):
            record = skipped_record(skipped)
            reason, detail = record.pop("reason"), record.pop("detail")
            row = {k: _cell(v) for k, v in record.items() if k in columns}
            row.update(skipped_reason=_cell(reason), skipped_detail=_cell(detail))
            rows.append(row)

        writer = csv.DictWriter(
            stream, fieldnames=columns, restval="", quoting=csv.QUOTE_MINIMAL, lineterminator="\n"
        )
        try:
            writer.writeheader()
            writer.writerows(rows)
        except OSError as exc:
            raise ReportError(f"Cannot write the CSV report: {exc.strerror or exc}.") from exc
