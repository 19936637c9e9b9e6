"""`keysweep install-hook [--pre-push]`: a plain git hook that runs keysweep before a commit (or push)."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

import click

from scanner.cli.common import ExitCode, fail

MARKER = "# installed by keysweep install-hook"


def hook_script(pre_push: bool) -> str:
    mode = "--pre-push" if pre_push else "--staged"
    what = "the commits being pushed" if pre_push else "what is staged"
    python = shlex.quote(sys.executable)
    return (
        "#!/bin/sh\n"
        f"{MARKER}\n"
        f"# Scans {what} for secrets; a finding stops the operation (bypass once with --no-verify).\n"
        f"if command -v keysweep >/dev/null 2>&1; then exec keysweep scan {mode} --quiet\n"
        f"else exec {python} -m scanner scan {mode} --quiet\n"
        "fi\n"
    )


@click.command("install-hook")
@click.option("--pre-push", is_flag=True, help="Install a pre-push hook instead of pre-commit.")
@click.option("--force", is_flag=True, help="Replace an existing hook that keysweep did not write.")
@click.argument("repository", required=False, default=".", type=click.Path(path_type=Path))
def install_hook_command(pre_push: bool, force: bool, repository: Path) -> None:
    """Install a git pre-commit hook (`keysweep scan --staged`) or pre-push hook (`--pre-push`).

    The hook goes where git looks for it (core.hooksPath is not honoured: keysweep never reads it from
    the repository's configuration; set it up by hand if you use one). An existing hook not written by
    keysweep is left alone unless --force. For the pre-commit framework use .pre-commit-hooks.yaml.
    """
    from scanner.sources.git.repository import discover
    from scanner.sources.interface import SourceError

    try:
        repo = discover(repository)
    except SourceError as exc:
        fail(str(exc), ExitCode.USAGE)
        return
    hooks = Path(str(repo.git.git_dir)) / "hooks"
    name = "pre-push" if pre_push else "pre-commit"
    target = hooks / name
    if target.is_symlink() or (target.exists() and MARKER not in _read(target)):
        if not force:
            fail(
                f"{target} exists and was not written by keysweep; refusing to replace it.",
                ExitCode.USAGE,
                "call keysweep from it yourself, or pass --force to replace it.",
            )
        target.unlink()
    hooks.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{name}.keysweep.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o755)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(hook_script(pre_push))
    os.chmod(temporary, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    os.replace(temporary, target)
    click.echo(f"keysweep: installed {target}.", err=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
