"""`keysweep rules`: list the rules keysweep runs, with their ids, severities and where they come from."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scanner.cli.common import ExitCode, fail


@click.command("rules")
@click.option(
    "--format",
    "-f",
    "output_format",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also list this configuration's custom rules and apply its enable/disable lists.",
)
def rules_command(output_format: str, config_path: Path | None) -> None:
    """List every rule: id, severity, name, whether it is enabled, and its file.

    Rule ids are stable: they are stored in databases and baselines and used in allowlists.
    """
    from scanner.config import ConfigError, load_config
    from scanner.rules import RuleError, load_builtin_rules

    try:
        builtin = load_builtin_rules()
        config = load_config(config_path, ())
        enabled = {rule.id for rule in config.select_rules(builtin)}
    except (RuleError, ConfigError) as exc:
        fail(str(exc), ExitCode.USAGE)
        return
    every = [*builtin, *config.custom_rules]
    if output_format == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "id": rule.id,
                        "name": rule.name,
                        "severity": rule.severity.value,
                        "enabled": rule.id in enabled,
                        "tags": list(rule.tags),
                        "file": rule.file,
                        "references": list(rule.references),
                    }
                    for rule in every
                ],
                indent=2,
            )
        )
        return
    for rule in every:
        marker = " " if rule.id in enabled else "-"
        click.echo(f"{marker} {rule.id:<44} {rule.severity.value:<9} {rule.name}")
    click.echo(f"{len(enabled)} of {len(every)} rules enabled ('-' marks disabled ones).")
