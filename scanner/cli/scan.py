"""`keysweep scan PATH...`: scan files, directories and git repositories; report; record in the database."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scanner.cli.common import ExitCode, db_option, default_db_path, fail

if TYPE_CHECKING:
    from scanner.job import ScanRequest
    from scanner.report.interface import Reporter
    from scanner.result import OutputOptions, ScanResult

FORMATS = ("text", "json", "jsonl", "sarif", "csv")


@click.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "-f",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to FILE."
)
@click.option(
    "--show-secrets", is_flag=True, help="Print secrets in clear (adds a `secret` field). Off by default."
)
@click.option(
    "--show-suppressed", is_flag=True, help="Also list suppressed matches and the filter that fired."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: .keysweep.toml in the first scanned directory).",
)
@click.option(
    "--disable-rule", "disabled_rules", multiple=True, metavar="ID", help="Turn a rule off (repeatable)."
)
@click.option(
    "--max-file-size",
    default=None,
    metavar="SIZE",
    help="Skip files larger than SIZE (e.g. 100MB, 2GB). Default: 1GB.",
)
@click.option(
    "--max-archive-depth",
    type=click.IntRange(0, 16),
    default=None,
    help="Nested archives to open (default 4).",
)
@click.option("--no-decode", is_flag=True, help="Do not look inside archives, base64 or other encodings.")
@click.option(
    "--workers", type=click.IntRange(0, 256), default=0, help="Worker processes (default: one per core)."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary on stderr.")
@click.option(
    "--iam",
    is_flag=True,
    help="Trace every AWS key to its owner: account, IAM user, status, last use, contact, leak timeline "
    "(read-only AWS calls with your credentials; see `keysweep iam --help` and [iam] in the config).",
)
@click.option(
    "--verify",
    is_flag=True,
    help="With --iam: prove whether keys found with their secret are live by calling sts:GetCallerIdentity "
    "WITH THE LEAKED KEY (seen in the key owner's CloudTrail; never for canary keys). Off by default.",
)
@click.option(
    "--aws-profile", metavar="NAME", help="AWS profile for --iam (default: [iam] profile or the usual chain)."
)
@click.option(
    "--no-history", is_flag=True, help="In a git repository, scan only the working tree (no history)."
)
@click.option(
    "--range",
    "revision_range",
    metavar="A..B",
    help="Scan only what the commits A..B introduced (a pull request: BASE..HEAD).",
)
@click.option("--since", metavar="REF", help="Scan only what the commits since REF introduced (REF..HEAD).")
@click.option(
    "--full",
    is_flag=True,
    help="Read every git object again, even those an earlier scan with the same rules already read.",
)
@db_option
@click.pass_context
def scan_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    output_format: str,
    output: Path | None,
    show_secrets: bool,
    show_suppressed: bool,
    config_path: Path | None,
    disabled_rules: tuple[str, ...],
    max_file_size: str | None,
    max_archive_depth: int | None,
    no_decode: bool,
    workers: int,
    quiet: bool,
    iam: bool,
    verify: bool,
    aws_profile: str | None,
    no_history: bool,
    revision_range: str | None,
    since: str | None,
    full: bool,
    db_path: Path | None,
) -> None:
    """Scan files, directories and git repositories for secrets.

    A git repository (a working tree with .git, a bare repository or a mirror) is scanned through its
    whole history: every unique blob on every ref, stashes, notes, reflogs and unreachable objects,
    plus uncommitted files; each finding says in which commit the secret entered and whether it is
    still at HEAD. Rescans read only new objects. Archives (zip, jar, tar, gzip...), base64 values,
    URL-encoded and UTF-16 text are looked inside.

    Findings are reported in the chosen format (secrets redacted unless --show-secrets) and every
    scan is recorded in the findings database.
    """
    from scanner.job import ScanRequest

    request = ScanRequest(
        targets=paths or (Path("."),),
        db_path=db_path or default_db_path(),
        config_path=config_path,
        disabled_rules=disabled_rules,
        max_file_size=max_file_size,
        max_archive_depth=max_archive_depth,
        decode=not no_decode,
        workers=workers,
        history=not no_history,
        range=revision_range,
        since=since,
        incremental=not full,
        iam=iam,
        verify=verify,
        aws_profile=aws_profile,
    )
    display = Display(output_format, output, show_secrets, show_suppressed, quiet)
    debug = bool(ctx.obj and ctx.obj.get("debug"))
    try:
        code = run_scan_command(request, display)
    except SystemExit:
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc()
        fail(
            f"the scan could not run: {type(exc).__name__}: {exc}",
            ExitCode.SCAN_FAILED,
            None if debug else "run with --debug for the traceback.",
        )
        return
    ctx.exit(int(code))


@dataclass(frozen=True)
class Display:
    """How the result of a scan is shown."""

    output_format: str
    output: Path | None
    show_secrets: bool
    show_suppressed: bool
    quiet: bool


def run_scan_command(request: ScanRequest, display: Display) -> ExitCode:
    """Run the job, write the report, choose the exit code. Errors become one line and an exit code."""
    from scanner.cli.progress import ScanProgress
    from scanner.job import ScanFailed, UsageError, run_job
    from scanner.report.interface import ReportError
    from scanner.report.registry import get_reporter
    from scanner.result import OutputOptions

    try:
        reporter = get_reporter(display.output_format)
    except ReportError as exc:
        fail(str(exc), ExitCode.USAGE)
    try:
        with ScanProgress(enabled=not display.quiet) as progress:
            result = run_job(request, progress)
    except UsageError as exc:
        fail(str(exc), ExitCode.USAGE)
    except ScanFailed as exc:
        fail(str(exc), ExitCode.SCAN_FAILED)
    options = OutputOptions(show_secrets=display.show_secrets, show_suppressed=display.show_suppressed)
    _write_report(reporter, result, options, display.output)
    if not display.quiet and (display.output is not None or display.output_format != "text"):
        click.echo(_summary_line(result), err=True)
    return ExitCode.CLEAN if result.clean else ExitCode.FINDINGS


def _write_report(
    reporter: Reporter, result: ScanResult, options: OutputOptions, output: Path | None
) -> None:
    if output is None:
        reporter.write(result, options, sys.stdout)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as stream:
            reporter.write(result, options, stream)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}.", ExitCode.SCAN_FAILED)


def _summary_line(result: ScanResult) -> str:
    findings = len(result.findings)
    stats = result.stats
    line = (
        f"keysweep: {findings} finding{'s' if findings != 1 else ''}, {len(result.skipped)} skipped, "
        f"{stats.blobs:,} blobs, {stats.bytes / 1e6:.1f} MB in {stats.duration_seconds:.2f} s"
    )
    if result.known_open:
        line += f"; {result.known_open} open finding(s) from earlier scans still leaked"
    return line
