"""Shared CLI pieces: exit codes, the --db option, error translation."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from enum import IntEnum
from pathlib import Path
from typing import Any

import click


class ExitCode(IntEnum):
    CLEAN = 0
    FINDINGS = 1
    USAGE = 2
    SCAN_FAILED = 3


class KeysweepGroup(click.Group):
    """Click's usage errors already exit 2; this keeps command order as registered in --help.

    `lazy_commands` (name -> (module, attribute)) are imported when first asked for: a CI step or
    a hook runs only `scan` and does not pay for the other commands' imports. They are listed
    first, in their order, then any command added with `add_command`.
    """

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy_commands, *(name for name in self.commands if name not in self.lazy_commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            module, attribute = self.lazy_commands[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command) or command.name != cmd_name:
                raise RuntimeError(f"{module}.{attribute} is not the `{cmd_name}` command.")
            self.add_command(command)
        return command


def default_db_path() -> Path:
    """`$KEYSWEEP_DB`, else keysweep.db in the user's data directory."""
    env = os.environ.get("KEYSWEEP_DB")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

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
