"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

    ::error file=deploy.env,line=2,col=23,title=keysweep%3A AWS access key::AWS access key (aws-...) ...

Syntax and escaping as documented for workflow commands (and done by @actions/core): in the message,
`%`, CR and LF become `%25`, `%0D`, `%0A`; in property values `:` and `,` also become `%3A`, `%2C`.
Findings of severity critical/high are `error`, medium `warning`, low/info `notice`. Inputs that were not
scanned and configuration changes inside a scanned range are `warning`s. Secrets appear only with
--show-secrets (think twice: CI logs are widely readable). Nothing is printed for a clean scan.
"""

from __future__ import annotations

import io
from typing import TextIO

from scanner.model import Finding, Severity, Skipped, SkipReason
from scanner.report.interface import Reporter, ReportError
from scanner.report.records import archive_member, ordered, ordered_skipped, relative_container_path
from scanner.result import OutputOptions, ScanResult

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: str | int | None) -> str:
    props = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in properties.items() if value not in (None, "")
    )
    return f"::{level}{' ' + props if props else ''}::{escape_data(message)}"


def finding_message(finding: Finding, show_secret: bool = False) -> str:
    location = finding.location
    parts = [f"{finding.rule_name} ({finding.rule_id}, {finding.severity.value}): {finding.preview}"]
    member = archive_member(location)
    if member:
        parts.append(f"inside the archive at {member}")
    if location.commit:
        parts.append(f"introduced in commit {location.commit[:12]}")
    if finding.encoding:
        parts.append(f"found decoded ({', '.join(finding.encoding)})")
    parts.append(f"fingerprint {finding.fingerprint[:12]}")
    if show_secret:
        parts.append(f"secret {finding.secret}")
    return "; ".join(parts) + ". Revoke the secret, then remove it."


def skipped_command(skipped: Skipped) -> str:
    path = relative_container_path(skipped.location) or None
    if skipped.reason is SkipReason.CONFIG_CHANGED:
        return command("warning", skipped.detail, file=path, title="keysweep: configuration changed")
    return command(
        "warning", f"not scanned ({skipped.reason.value}): {skipped.detail}", file=path, title="keysweep"
    )


class GithubReporter(Reporter):
    name = "github"
    description = "GitHub Actions annotations (workflow commands)"

    def write(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        buffer = io.StringIO()
        self._render(result, options, buffer)
        try:
            stream.write(buffer.getvalue())
            stream.flush()
        except OSError as exc:
            raise ReportError(f"Cannot write the GitHub annotations: {exc.strerror or exc}.") from exc

    def _render(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        for finding in ordered(result.findings):
            stream.write(
                command(
                    _LEVEL[finding.severity],
                    finding_message(finding, options.show_secrets),
                    file=relative_container_path(finding.location),
                    line=finding.line,
                    col=finding.column,
                    title=f"keysweep: {finding.rule_name}",
                )
                + "\n"
            )
        if options.show_suppressed:
            for finding in ordered(result.suppressed):
                stream.write(
                    command(
                        "notice",
                        f"suppressed by {finding.suppressed_by}: "
                        + finding_message(finding, options.show_secrets),
                        file=relative_container_path(finding.location),
                        line=finding.line,
                        col=finding.column,
                        title=f"keysweep (suppressed): {finding.rule_name}",
                    )
                    + "\n"
                )
        for skipped in ordered_skipped(result.skipped):
            stream.write(skipped_command(skipped) + "\n")
        if result.known_open:
            stream.write(
                command(
                    "error",
                    f"{result.known_open} open finding(s) from earlier scans are still leaked "
                    "(keysweep findings --status open).",
                    title="keysweep",
                )
                + "\n"
            )
