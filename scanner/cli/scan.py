"""`keysweep scan PATH...`: scan files and directories, report, record in the database."""

from __future__ import annotations

import asyncio
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scanner.cli.common import ExitCode, db_option, default_db_path, fail

if TYPE_CHECKING:
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
    db_path: Path | None,
) -> None:
    """Scan files and directories for secrets.

    Findings are reported in the chosen format (secrets redacted unless --show-secrets) and every
    scan is recorded in the findings database. Archives (zip, jar, tar, gzip...), base64 values,
    URL-encoded and UTF-16 text are looked inside.
    """
    debug = bool(ctx.obj and ctx.obj.get("debug"))
    try:
        code = _scan(
            paths or (Path("."),),
            output_format,
            output,
            show_secrets,
            show_suppressed,
            config_path,
            disabled_rules,
            max_file_size,
            max_archive_depth,
            no_decode,
            workers,
            quiet,
            db_path,
        )
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


def _scan(
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
    db_path: Path | None,
) -> ExitCode:
    from dataclasses import replace

    from scanner.cli.progress import ScanProgress
    from scanner.config import ConfigError, load_config, parse_size
    from scanner.pipeline import ScanSettings, apply_triage, run_scan
    from scanner.report.interface import ReportError
    from scanner.report.registry import get_reporter
    from scanner.result import OutputOptions
    from scanner.rules import RuleError, load_builtin_rules
    from scanner.sources.files import FileSource
    from scanner.sources.interface import Limits, SourceError
    from scanner.store import Store, StoreError

    try:
        config = load_config(config_path, paths)
        rules = tuple(config.select_rules(load_builtin_rules(), disabled_rules))
        limits = Limits(max_file_size=1024**3)
        if config.max_file_size is not None:
            limits = replace(limits, max_file_size=config.max_file_size)
        if max_file_size is not None:
            limits = replace(limits, max_file_size=parse_size(max_file_size, "--max-file-size"))
        if max_archive_depth is not None:
            limits = replace(limits, max_archive_depth=max_archive_depth)
        reporter = get_reporter(output_format)
    except (ConfigError, RuleError, ReportError) as exc:
        fail(str(exc), ExitCode.USAGE)
    try:
        sources = [FileSource(path, exclude=config.policy.path_excluded) for path in paths]
    except SourceError as exc:
        fail(str(exc), ExitCode.USAGE)
    try:
        store = Store.open(db_path or default_db_path())
    except StoreError as exc:
        fail(str(exc), ExitCode.SCAN_FAILED, "choose another database with --db PATH.")
    with store:
        settings = ScanSettings(
            rules=rules, policy=config.policy, limits=limits, workers=workers, decode=not no_decode
        )
        with ScanProgress(enabled=not quiet) as progress:
            result = asyncio.run(run_scan(sources, settings, progress))
        result = apply_triage(result, store.triage_statuses())
        recorded = store.record_scan(result, datetime.now(UTC))
        result = replace(result, scan_id=recorded.scan_id)
    options = OutputOptions(show_secrets=show_secrets, show_suppressed=show_suppressed)
    _write_report(reporter, result, options, output)
    if not quiet and (output is not None or output_format != "text"):
        click.echo(_summary_line(result), err=True)
    return ExitCode.FINDINGS if result.findings else ExitCode.CLEAN


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
    return (
        f"keysweep: {findings} finding{'s' if findings != 1 else ''}, {len(result.skipped)} skipped, "
        f"{stats.blobs:,} files, {stats.bytes / 1e6:.1f} MB in {stats.duration_seconds:.2f} s"
    )
