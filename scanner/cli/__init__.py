"""The command line: `keysweep`. The only layer that turns errors into messages and exit codes.

Exit codes: 0 nothing found, 1 findings, 2 usage or configuration error, 3 the scan could not run.
"""

from __future__ import annotations

import sys

import click

from scanner import __version__
from scanner.cli.commands import COMMANDS
from scanner.cli.common import ExitCode, KeysweepGroup

EPILOG = """\b
Exit codes:
  0  nothing found
  1  findings (secrets found)
  2  usage or configuration error
  3  the scan could not run
"""


@click.group(
    cls=KeysweepGroup,
    lazy_commands=COMMANDS,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="keysweep")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """keysweep: find leaked secrets and follow every AWS key to its owner."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(int(ExitCode.SCAN_FAILED))
