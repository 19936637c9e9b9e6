"""`keysweep baseline create|update`: record the current findings so that CI reports only new ones."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.cli.common import ExitCode, db_option, default_db_path, fail

DEFAULT_OUTPUT = ".keysweep-baseline.json"


@click.group("baseline")
def baseline_group() -> None:
    """Adopt keysweep on a repository with existing findings.

    `create` records the current findings by content fingerprint (never line numbers: moving code does
    not resurface them; a different secret on a baselined line is new); `scan --baseline FILE` then
    reports only new findings; `update` prunes the entries no longer found. The file holds fingerprints,
    rule ids, redacted previews and paths, never a secret: commit it.
    """


def _scan(path: Path, config_path: Path | None, no_history: bool, db_path: Path | None):  # type: ignore[no-untyped-def]
    from scanner.job import ScanFailed, ScanRequest, UsageError, run_job

    request = ScanRequest(
        targets=(path,),
        db_path=db_path or default_db_path(),
        config_path=config_path,
        history=not no_history,
        incremental=False,
    )
    try:
        return run_job(request)
    except UsageError as exc:
        fail(str(exc), ExitCode.USAGE)
    except ScanFailed as exc:
        fail(str(exc), ExitCode.SCAN_FAILED)


def _common(function):  # type: ignore[no-untyped-def]
    function = click.argument("path", required=False, default=".", type=click.Path(path_type=Path))(function)
    function = click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"The baseline file (default: {DEFAULT_OUTPUT} in PATH).",
    )(function)
    function = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Configuration file (default: .keysweep.toml in PATH).",
    )(function)
    function = click.option(
        "--no-history", is_flag=True, help="In a git repository, record only the working tree's findings."
    )(function)
    return db_option(function)


def _target(path: Path, output: Path | None) -> Path:
    return output if output is not None else (path if path.is_dir() else Path(".")) / DEFAULT_OUTPUT


@baseline_group.command("create")
@_common
def create_command(
    path: Path, output: Path | None, config_path: Path | None, no_history: bool, db_path: Path | None
) -> None:
    """Scan PATH (default .) and record every finding in the baseline file."""
    from scanner.baseline import dumps, from_findings

    result = _scan(path, config_path, no_history, db_path)
    target = _target(path, output)
    baseline = from_findings(result.findings)
    _write(target, dumps(baseline))
    click.echo(f"keysweep: baseline {target}: {len(baseline)} finding(s) recorded.", err=True)


@baseline_group.command("update")
@_common
def update_command(
    path: Path, output: Path | None, config_path: Path | None, no_history: bool, db_path: Path | None
) -> None:
    """Scan PATH again and remove from the baseline the findings no longer found (fixed ones).

    New findings are not added: they must be fixed or triaged (or run `create` again on purpose)."""
    from scanner.baseline import BaselineError, dumps, loads, pruned

    target = _target(path, output)
    try:
        baseline = loads(target.read_text(encoding="utf-8"), str(target))
    except OSError as exc:
        fail(f"cannot read the baseline {target}: {exc.strerror or exc}.", ExitCode.USAGE)
    except BaselineError as exc:
        fail(str(exc), ExitCode.USAGE)
    result = _scan(path, config_path, no_history, db_path)
    kept, removed = pruned(baseline, [*result.findings, *result.suppressed])
    _write(target, dumps(kept))
    click.echo(
        f"keysweep: baseline {target}: {len(removed)} fixed finding(s) removed, {len(kept)} kept.", err=True
    )


def _write(target: Path, text: str) -> None:
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}.", ExitCode.SCAN_FAILED)
