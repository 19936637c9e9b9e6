"""The report for people: findings grouped by file, skipped inputs, a one-line summary.

Colour only on a terminal: written to a file, a pipe or a StringIO the output is plain text with no
escape sequences at all, and lines are never wrapped or truncated (a long path stays whole).
On a terminal, NO_COLOR is honoured.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from scanner.iam.describe import one_line
from scanner.model import Finding, Severity, Skipped, SourceKind
from scanner.report.interface import Reporter, ReportError
from scanner.report.records import display_path, ordered, ordered_skipped, severity_counts
from scanner.result import OutputOptions, ScanResult

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_LABEL_WIDTH = max(len(s.value) for s in Severity)
_INDENT = " " * (2 + _LABEL_WIDTH + 2)
# Off a terminal nothing wraps at all (soft wrap); this width only keeps rich from measuring anything.
_FILE_WIDTH = 100_000


def printable(value: str) -> str:
    """`value` with control characters (and bidi overrides) escaped, e.g. `\\n`, `\\x1b`.

    Paths, archive member names and previews come from scanned content: printed raw, an escape
    sequence in a file name could rewrite the terminal, a newline could forge a report line.
    """
    if value.isprintable():
        return value
    return "".join(_escape(char) for char in value)


def _escape(char: str) -> str:
    if char.isprintable() or char == " ":
        return char
    escaped = repr(char)[1:-1]
    return escaped if escaped != char else f"\\u{ord(char):04x}"


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class _ReportConsole(Console):
    """A console that lets a broken pipe surface as an error.

    rich's default answer to a broken pipe redirects the process's stdout to /dev/null and exits;
    a reporter leaves that decision to the CLI, so the error is raised (and becomes a ReportError).
    """

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def make_console(stream: TextIO) -> Console:
    tty = _is_tty(stream)
    return _ReportConsole(
        file=stream,
        force_terminal=tty,
        no_color=None if tty else True,  # None: rich honours NO_COLOR on a terminal
        force_jupyter=False,
        force_interactive=False,
        width=None if tty else _FILE_WIDTH,
        soft_wrap=True,
        markup=False,
        emoji=False,
        highlight=False,
        legacy_windows=False,
    )


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def human_bytes(size: int) -> str:
    """Decimal units, one decimal place: `56.7 MB`."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{size:,} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def summary_line(result: ScanResult) -> str:
    """`3 findings (1 critical, 2 high) in 1,234 files, 56.7 MB, 2.1 s; 2 inputs skipped`."""
    stats = result.stats
    size, duration = human_bytes(stats.bytes), human_duration(stats.duration_seconds)
    scanned = f"in {plural(stats.blobs, 'file')}, {size}, {duration}"
    if result.findings:
        counts = ", ".join(f"{n} {sev}" for sev, n in severity_counts(result.findings).items() if n)
        line = f"{plural(len(result.findings), 'finding')} ({counts}) {scanned}"
    else:
        line = f"No secrets found {scanned}"
    if result.suppressed:
        line += f"; {len(result.suppressed):,} suppressed"
    if result.skipped:
        line += f"; {plural(len(result.skipped), 'input')} skipped"
    return line


def _group_key(finding: Finding) -> tuple[str, str, str]:
    location = finding.location
    return (location.source.value, location.origin, display_path(location))


def _group_header(finding: Finding) -> Text:
    location = finding.location
    header = Text(printable(display_path(location) or location.origin), style="bold")
    if location.source is not SourceKind.FILE:
        header.append(f"  ({location.source.value} {printable(location.origin)})", style="dim")
    return header


def _finding_lines(
    finding: Finding, options: OutputOptions, suppressed: bool, annotations: Mapping[str, Any] | None = None
) -> list[Text]:
    label = finding.severity.value.upper().ljust(_LABEL_WIDTH)
    first = Text("  ")
    first.append(label, style=SEVERITY_STYLE[finding.severity])
    first.append("  ")
    first.append(printable(finding.rule_name), style="bold")
    first.append("  ")
    first.append(f"{printable(display_path(finding.location))}:{finding.line}:{finding.column}", style="cyan")

    details = Text(_INDENT)
    details.append(printable(finding.preview), style="magenta")
    if options.show_secrets:
        details.append("  secret ", style="dim")
        details.append(printable(finding.secret), style="bold magenta")
    if finding.key_id:
        details.append("  key id ", style="dim")
        details.append(printable(finding.key_id))
        if finding.secret_found:
            details.append("  secret access key found", style="bold red")
        else:
            details.append("  secret access key not found", style="dim")
    if finding.encoding:
        details.append(f"  decoded from {' then '.join(finding.encoding)}", style="dim")
    if finding.location.commit:
        details.append(f"  commit {printable(finding.location.commit[:12])}", style="dim")
    for name, value in finding.extra:
        details.append(f"  {printable(name)} {printable(value)}", style="dim")
    if suppressed:
        details.append(f"  suppressed by {printable(finding.suppressed_by or 'unknown')}", style="yellow")
    lines = [first, details]
    provenance = (annotations or {}).get("provenance")
    if isinstance(provenance, Mapping):  # where a secret found in git history entered
        lines.append(_provenance_line(provenance))
    iam = (annotations or {}).get("iam")
    if isinstance(iam, Mapping):  # AWS key owner, state and leak timeline (scan --iam)
        timeline = iam.get("timeline") or {}
        urgent = timeline.get("state") == "used-after-leak" or iam.get("state") == "unknown"
        owner = Text(_INDENT)
        owner.append("aws ", style="dim")
        owner.append(printable(one_line(iam)), style="bold red" if urgent else "")
        lines.append(owner)
    return lines


_PROVENANCE_STATUS = {
    "only-in-history": ("only in history (removed, but every clone still has it)", "bold red"),
    "only-unreachable": ("only in unreachable objects (until git gc prunes them)", "yellow"),
    "at-head": ("still at HEAD", "bold red"),
    "working-tree": ("in uncommitted files", "yellow"),
}


def _provenance_line(provenance: Mapping[str, Any]) -> Text:
    line = Text(_INDENT)
    line.append("git ", style="dim")
    first = provenance.get("first")
    if isinstance(first, Mapping):
        line.append(f"entered in {printable(str(first.get('commit', ''))[:12])}", style="bold")
        date, author = printable(str(first.get("date", ""))), printable(str(first.get("author", "")))
        summary, path = printable(str(first.get("summary", ""))), printable(str(first.get("path", "")))
        line.append(f" {date} by {author} \u201c{summary}\u201d at {path}")
        later = int(provenance.get("later_count") or 0)
        if later:
            line.append(f"; seen in {later} later commit{'s' if later != 1 else ''}", style="dim")
        line.append("; ")
    text, style = _PROVENANCE_STATUS.get(str(provenance.get("status")), (str(provenance.get("status")), ""))
    line.append(text, style=style)
    return line


def _finding_section(
    console: Console,
    title: str,
    findings: Iterable[Finding],
    options: OutputOptions,
    suppressed: bool,
    annotations: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    by_file = sorted(ordered(findings), key=_group_key)
    if not by_file:
        return
    console.print(Text(f"{title} ({len(by_file):,})", style="bold underline"))
    for _key, group in groupby(by_file, key=_group_key):
        items = list(group)
        console.print()
        console.print(_group_header(items[0]))
        for finding in items:
            facts = (annotations or {}).get(finding.fingerprint)
            for line in _finding_lines(finding, options, suppressed, facts):
                console.print(line)
    console.print()


def _skipped_section(console: Console, skipped: Iterable[Skipped]) -> None:
    items = ordered_skipped(skipped)
    if not items:
        return
    console.print(Text(f"Skipped ({len(items):,})", style="bold underline"))
    for item in items:
        line = Text("  ")
        line.append(printable(display_path(item.location) or item.location.origin), style="bold")
        if item.location.commit:
            line.append(f" @ {printable(item.location.commit[:12])}", style="dim")
        line.append("  ")
        line.append(item.reason.value, style="yellow")
        if item.detail:
            line.append(f": {printable(item.detail)}")
        console.print(line)
    console.print()


class TextReporter(Reporter):
    name = "text"
    description = "For people: findings grouped by file, skipped inputs and a summary (colour on a terminal)."

    def write(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        console = make_console(stream)
        try:
            _finding_section(console, "Findings", result.findings, options, False, result.annotations)
            if options.show_suppressed:
                _finding_section(console, "Suppressed", result.suppressed, options, True, result.annotations)
            _skipped_section(console, result.skipped)
            for note in result.notes:
                console.print(Text(f"note: {printable(note)}", style="dim"))
            style = "bold red" if result.findings else "bold green"
            console.print(Text(summary_line(result), style=style))
        except OSError as exc:
            raise ReportError(f"Cannot write the text report: {exc.strerror or exc}.") from exc
