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

FORMATS = ("text", "json", "jsonl", "sarif", "csv", "github", "gitlab", "junit")
SEVERITIES = ("critical", "high", "medium", "low", "info")


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
    "--staged",
    is_flag=True,
    help="Scan only what is staged for the next commit (the index against HEAD): for pre-commit hooks.",
)
@click.option(
    "--pre-push",
    is_flag=True,
    help="Scan the commits being pushed: reads git's pre-push stdin lines "
    "(<local ref> <local sha> <remote ref> <remote sha>); new branches and deletions are handled.",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Report only findings not in this baseline file (keysweep baseline create); "
    "default: [ci] baseline in the configuration. In --range mode it is read from the base commit.",
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    help="Exit 1 only for findings of this severity or above (default: [ci] fail_on, else any finding).",
)
@click.option(
    "--no-repo-config",
    is_flag=True,
    help="Ignore configuration in the scanned repository (.keysweep.toml, .gitleaks.toml, "
    ".gitleaksignore, [ci] baseline): for repositories you do not trust.",
)
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
    staged: bool,
    pre_push: bool,
    baseline: Path | None,
    fail_on: str | None,
    no_repo_config: bool,
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

    updates = _push_updates() if pre_push else None
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
        staged=staged,
        pre_push=updates,
        baseline=baseline,
        no_repo_config=no_repo_config,
        fail_on=fail_on,
        provenance_of_suppressed=show_suppressed,
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


def _push_updates() -> tuple[object, ...]:
    """git's pre-push stdin; under the pre-commit framework (which reads stdin itself), its
    PRE_COMMIT_FROM_REF / PRE_COMMIT_TO_REF environment."""
    import os

    from scanner.sources.interface import SourceError
    from scanner.sources.staged import parse_push_lines

    lines = [] if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read().splitlines()
    if not any(line.strip() for line in lines) and os.environ.get("PRE_COMMIT_TO_REF"):
        lines = [
            f"{os.environ.get('PRE_COMMIT_LOCAL_BRANCH', 'HEAD')} {os.environ['PRE_COMMIT_TO_REF']} "
            f"{os.environ.get('PRE_COMMIT_REMOTE_BRANCH', 'remote')} "
            f"{os.environ.get('PRE_COMMIT_FROM_REF', '0' * 40)}"
        ]
    try:
        return tuple(parse_push_lines(lines))
    except SourceError as exc:
        fail(str(exc), ExitCode.USAGE)
        raise  # unreachable: fail() exits


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
    from scanner.job import ScanFailed, UsageError, run_job_outcome
    from scanner.report.interface import ReportError
    from scanner.report.registry import get_reporter
    from scanner.result import OutputOptions

    try:
        reporter = get_reporter(display.output_format)
    except ReportError as exc:
        fail(str(exc), ExitCode.USAGE)
    try:
        with ScanProgress(enabled=not display.quiet) as progress:
            outcome = run_job_outcome(request, progress)
    except UsageError as exc:
        fail(str(exc), ExitCode.USAGE)
    except ScanFailed as exc:
        fail(str(exc), ExitCode.SCAN_FAILED)
    result = outcome.result
    options = OutputOptions(show_secrets=display.show_secrets, show_suppressed=display.show_suppressed)
    _write_report(reporter, result, options, display.output)
    if not display.quiet and (display.output is not None or display.output_format != "text"):
        click.echo(_summary_line(result), err=True)
    return ExitCode.FINDINGS if outcome.failed else ExitCode.CLEAN


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
