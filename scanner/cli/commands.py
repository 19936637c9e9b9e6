"""Every top-level command, in the order `keysweep --help` lists them. Add new commands here.

Each command is named by its module and attribute; `KeysweepGroup` imports it only when it runs (or
when `--help` lists them all), so `keysweep scan` in a CI step or a pre-commit hook does not load
the IAM, hygiene or findings commands.
"""

from __future__ import annotations

# command name -> (module, attribute)
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("scanner.cli.scan", "scan_command"),
    "findings": ("scanner.cli.findings", "findings_command"),
    "triage": ("scanner.cli.findings", "triage_command"),
    "rules": ("scanner.cli.rules_command", "rules_command"),
    "iam": ("scanner.cli.iam", "iam_group"),
    "baseline": ("scanner.cli.baseline", "baseline_group"),
    "install-hook": ("scanner.cli.hooks", "install_hook_command"),
    "hygiene": ("scanner.cli.hygiene", "hygiene_group"),
}
