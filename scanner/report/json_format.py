"""JSON (one document) and JSON Lines (one object per line, streamable) reports.

Both print the records of scanner.report.records, so a field added there appears here unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from scanner import __version__
from scanner.model import Finding
from scanner.report.interface import Reporter, ReportError
from scanner.report.records import (
    finding_record,
    ordered,
    ordered_skipped,
    scan_record,
    skipped_record,
    summary_record,
)
from scanner.result import OutputOptions, ScanResult

# The version of the document layout below; bumped when a field is renamed or removed.
REPORT_VERSION = 1


def json_document(result: ScanResult, options: OutputOptions) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": REPORT_VERSION,
        "tool": {"name": "keysweep", "version": __version__},
        "scan": scan_record(result),
        "findings": [
            finding_record(f, options, result.annotations.get(f.fingerprint))
            for f in ordered(result.findings)
        ],
    }
    if options.show_suppressed:
        document["suppressed"] = [
            finding_record(f, options, result.annotations.get(f.fingerprint))
            for f in ordered(result.suppressed)
        ]
    document["skipped"] = [skipped_record(s) for s in ordered_skipped(result.skipped)]
    document["summary"] = summary_record(result)
    return document


class JsonReporter(Reporter):
    """One document, written as it is produced: the frame is indented for people, each finding is one
    compact line (json's C encoder: a report of 100,000 findings costs seconds, not minutes)."""

    name = "json"
    description = "One JSON document: scan, findings, skipped inputs, summary."

    def write(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        def records(findings: Iterable[Finding]) -> Iterator[dict[str, Any]]:
            for finding in ordered(findings):
                yield finding_record(finding, options, result.annotations.get(finding.fingerprint))

        sections: list[tuple[str, Any]] = [
            ("version", REPORT_VERSION),
            ("tool", {"name": "keysweep", "version": __version__}),
            ("scan", scan_record(result)),
            ("findings", records(result.findings)),
        ]
        if options.show_suppressed:
            sections.append(("suppressed", records(result.suppressed)))
        sections.append(("skipped", (skipped_record(s) for s in ordered_skipped(result.skipped))))
        sections.append(("summary", summary_record(result)))
        try:
            stream.write("{\n")
            for index, (key, value) in enumerate(sections):
                stream.write(f"  {json.dumps(key)}: ")
                if isinstance(value, Iterator):
                    _write_array(stream, value)
                else:
                    stream.write(json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  "))
                stream.write(",\n" if index < len(sections) - 1 else "\n")
            stream.write("}\n")
        except OSError as exc:
            raise ReportError(f"Cannot write the JSON report: {exc.strerror or exc}.") from exc


def _write_array(stream: TextIO, items: Iterator[dict[str, Any]]) -> None:
    first = True
    for item in items:
        stream.write("[\n    " if first else ",\n    ")
        stream.write(json.dumps(item, ensure_ascii=False))
        first = False
    stream.write("[]" if first else "\n  ]")


class JsonLinesReporter(Reporter):
    name = "jsonl"
    description = "One JSON object per line (finding, suppressed, skipped), then a summary line."

    def write(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        try:
            for finding in ordered(result.findings):
                _line(
                    stream,
                    {
                        "type": "finding",
                        **finding_record(finding, options, result.annotations.get(finding.fingerprint)),
                    },
                )
            if options.show_suppressed:
                for finding in ordered(result.suppressed):
                    _line(
                        stream,
                        {
                            "type": "suppressed",
                            **finding_record(finding, options, result.annotations.get(finding.fingerprint)),
                        },
                    )
            for skipped in ordered_skipped(result.skipped):
                _line(stream, {"type": "skipped", **skipped_record(skipped)})
            summary = {
                "type": "summary",
                "version": REPORT_VERSION,
                "tool": {"name": "keysweep", "version": __version__},
                "scan": scan_record(result),
                **summary_record(result),
            }
            _line(stream, summary)
        except OSError as exc:
            raise ReportError(f"Cannot write the JSON Lines report: {exc.strerror or exc}.") from exc


def _line(stream: TextIO, record: dict[str, Any]) -> None:
    stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
