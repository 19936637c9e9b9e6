"""`--format junit`: JUnit XML for CI systems that show test reports (Jenkins, Azure Pipelines, CircleCI...).

One `<testcase>` per finding with a `<failure>` (classname `keysweep.<rule id>`, name `path:line`);
inputs that were not scanned and configuration changes inside a range are `<skipped>` test cases; a clean
scan is one passing test case, so the suite is green. Secrets are written only with --show-secrets
(suppressed findings, with --show-suppressed, are `<skipped>` cases).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TextIO

from scanner.report.github import finding_message
from scanner.report.interface import Reporter, ReportError
from scanner.report.records import display_path, ordered, ordered_skipped
from scanner.result import OutputOptions, ScanResult


class JunitReporter(Reporter):
    name = "junit"
    description = "JUnit XML (one failing test case per finding)"

    def write(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        findings = ordered(result.findings)
        skipped = ordered_skipped(result.skipped)
        cases = len(findings) + len(skipped) + (0 if findings else 1)
        counts = {
            "tests": str(cases),
            "failures": str(len(findings)),
            "errors": "0",
            "skipped": str(len(skipped)),
            "time": f"{result.stats.duration_seconds:.3f}",
        }
        suites = ET.Element("testsuites", {"name": "keysweep", **counts})
        suite = ET.SubElement(
            suites, "testsuite", {"name": "keysweep", **counts, "timestamp": result.started_at.isoformat()}
        )
        for finding in findings:
            path = display_path(finding.location)
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": f"keysweep.{finding.rule_id}",
                    "name": f"{path}:{finding.line}",
                    "file": path,
                    "line": str(finding.line),
                },
            )
            failure = ET.SubElement(
                case,
                "failure",
                {"type": finding.rule_id, "message": f"{finding.rule_name} ({finding.severity.value})"},
            )
            failure.text = finding_message(finding, options.show_secrets)
        for item in skipped:
            case = ET.SubElement(
                suite,
                "testcase",
                {"classname": f"keysweep.{item.reason.value}", "name": display_path(item.location)},
            )
            ET.SubElement(case, "skipped", {"message": f"{item.reason.value}: {item.detail}"})
        if options.show_suppressed:
            for finding in ordered(result.suppressed):
                case = ET.SubElement(
                    suite,
                    "testcase",
                    {"classname": f"keysweep.{finding.rule_id}", "name": display_path(finding.location)},
                )
                message = f"suppressed by {finding.suppressed_by}"
                ET.SubElement(case, "skipped", {"message": message}).text = finding_message(
                    finding, options.show_secrets
                )
        if not findings:
            ET.SubElement(suite, "testcase", {"classname": "keysweep", "name": "no secrets found"})
        ET.indent(suites)
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
        try:
            stream.write(text)
            stream.flush()
        except OSError as exc:
            raise ReportError(f"Cannot write the JUnit report: {exc.strerror or exc}.") from exc
