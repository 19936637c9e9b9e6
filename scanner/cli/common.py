"""Shared CLI pieces: exit codes, the --db option, error translation."""

from __future__ import annotations

import os
from enum import IntEnum
from pathlib import Path
from typing import Any

import click
from platformdirs import user_data_dir


class ExitCode(IntEnum):
    CLEAN = 0
    FINDINGS = 1
    USAGE = 2
    SCAN_FAILED = 3


class KeysweepGroup(click.Group):
    """Click's usage errors already exit 2; this keeps command order as registered in --help."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def default_db_path() -> Path:
    """`$KEYSWEEP_DB`, else keysweep.db in the user's data directory."""
    env = os.environ.get("KEYSWEEP_DB")
    if env:
        return Path(env)
    return Path(user_data_dir("keysweep", appauthor=False)) / "keysweep.db"


def db_option(function: Any) -> Any:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The findings database (SQLite). "
        "Default: $KEYSWEEP_DB or keysweep.db in the user data directory.",
    )(function)


def fail(message: str, code: ExitCode, hint: str | None = None) -> None:
    """Print one line (and a hint) to stderr and exit with `code`."""
    click.echo(f"keysweep: error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    raise SystemExit(int(code))
