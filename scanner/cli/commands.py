"""Every top-level command, in the order `keysweep --help` lists them. Add new commands here."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    from scanner.cli.baseline import baseline_group
    from scanner.cli.findings import findings_command, triage_command
    from scanner.cli.hooks import install_hook_command
    from scanner.cli.hygiene import hygiene_group
    from scanner.cli.iam import iam_group
    from scanner.cli.rules_command import rules_command
    from scanner.cli.scan import scan_command

    commands: list[click.Command] = [
        scan_command,
        findings_command,
        triage_command,
        rules_command,
        iam_group,
        baseline_group,
        install_hook_command,
        hygiene_group,
    ]
    return commands
