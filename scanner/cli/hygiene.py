"""`keysweep hygiene`: AWS key hygiene over one account or the whole Organization.

    hygiene check       run the checks; text, JSON or CSV
    hygiene report      reports (text, JSON, CSV, Markdown, HTML) per account or per owner; --email digests
    hygiene schedule    run report --email on a cron schedule (a long-running process)
    hygiene remediate   deactivate a key or quarantine its user: dry-run unless --apply, always recorded

Exit codes: 0 every check passed (or is muted), 1 some FAIL, 2 usage or configuration error, 3 something
could not be checked (an ERROR result: a denied read, an account that cannot be entered) or the
database / mail could not be used. ERROR outranks FAIL: a partial view is never reported as complete.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scanner.cli.common import ExitCode, db_option, default_db_path, fail

if TYPE_CHECKING:
    from hygiene.config import HygieneConfig
    from hygiene.inventory import Target
    from hygiene.report import Report
    from scanner.iam.config import IamConfig


def aws_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="keysweep configuration ([iam]: accounts, role). Default: .keysweep.toml here.",
        ),
        click.option(
            "--settings",
            "settings_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Hygiene settings (thresholds, owners, mail, mutes); see hygiene/thresholds.toml.",
        ),
        click.option(
            "--profile", metavar="NAME", help="AWS profile (default: [iam] profile or the usual chain)."
        ),
        click.option(
            "--endpoint-url",
            metavar="URL",
            help="AWS endpoint (default: [iam] endpoint_url, $AWS_ENDPOINT_URL).",
        ),
        click.option("--role-name", metavar="NAME", help="Role to assume in each account ([iam] role_name)."),
        click.option("--external-id", metavar="ID", help="External id the role's trust policy requires."),
        click.option(
            "--account",
            "accounts",
            multiple=True,
            metavar="ID",
            help="Only this account (repeatable). Default: the Organization's accounts ([iam]).",
        ),
        click.option(
            "--organization/--no-organization",
            default=None,
            help="Check every account of the Organization (default: [iam] organization).",
        ),
        click.option("--check", "only", multiple=True, metavar="ID", help="Only this check (repeatable)."),
        db_option,
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _configs(opts: dict[str, Any]) -> tuple[IamConfig, HygieneConfig, Target]:
    from hygiene.config import HygieneConfigError, load_config
    from hygiene.inventory import Target
    from scanner.cli.iam import with_overrides
    from scanner.config import ConfigError
    from scanner.config import load_config as load_keysweep_config

    try:
        iam = load_keysweep_config(opts["config_path"], [Path(".")]).iam
    except ConfigError as exc:
        fail(str(exc), ExitCode.USAGE)
    try:
        settings = load_config(opts["settings_path"])
    except HygieneConfigError as exc:
        fail(str(exc), ExitCode.USAGE)
    accounts = tuple(a.strip() for a in opts["accounts"])
    if any(not (a.isdigit() and len(a) == 12) for a in accounts):
        fail("--account takes 12-digit AWS account ids.", ExitCode.USAGE)
    iam = with_overrides(
        iam,
        profile=opts["profile"],
        endpoint_url=opts["endpoint_url"],
        role_name=opts["role_name"],
        external_id=opts["external_id"],
    )
    return iam, settings, Target(accounts, opts["organization"])


def _evaluate(opts: dict[str, Any], now: datetime) -> Any:
    from hygiene.checks import CheckError
    from hygiene.config import HygieneConfigError
    from hygiene.run import run_hygiene
    from scanner.aws.errors import AwsError

    iam, settings, target = _configs(opts)
    try:
        return settings, run_hygiene(
            iam, settings, now, target=target, db_path=opts["db_path"] or default_db_path(), only=opts["only"]
        )
    except (CheckError, HygieneConfigError) as exc:
        fail(str(exc), ExitCode.USAGE)
    except AwsError as exc:
        fail(str(exc), ExitCode.SCAN_FAILED)


def _exit_code(report: Report) -> int:
    if report.errored:
        return int(ExitCode.SCAN_FAILED)
    return int(ExitCode.FINDINGS) if report.failed else int(ExitCode.CLEAN)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, "utf-8")
    except OSError as exc:
        fail(f"Cannot write {output}: {exc.strerror}.", ExitCode.SCAN_FAILED)


@click.group("hygiene")
def hygiene_group() -> None:
    """AWS key hygiene: root keys and MFA, unrotated, unused and never-used keys, doubled keys, console users
    without MFA, admin keys, the password policy, and leaked keys still active, over one account or the
    whole Organization; reports and digests mailed to each key's owner; opt-in remediation.

    Exit codes: 0 all passed, 1 some FAIL, 2 usage error, 3 something could not be checked (ERROR).
    """


@hygiene_group.command("check")
@aws_options
@click.option("--format", "-f", "output_format", type=click.Choice(["text", "json", "csv"]), default="text")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option("--problems-only", is_flag=True, help="Text: leave PASS results out.")
def check_command(output_format: str, output: Path | None, problems_only: bool, **opts: Any) -> None:
    """Run the hygiene checks; every result has a check id, resource, status (PASS, FAIL, ERROR, MUTED),
    a one-sentence message, a severity and its CIS / Security Hub control."""
    from hygiene.report import render

    _, run = _evaluate(opts, datetime.now(UTC))
    _write(render(run.report, output_format, show_passed=not problems_only), output)
    raise SystemExit(_exit_code(run.report))


def _send(
    report: Report,
    settings: HygieneConfig,
    opts: dict[str, Any],
    now: datetime,
    dry_run: Path | None,
    transport_name: str | None,
    force: bool,
) -> int:
    from hygiene.ledger import Ledger, LedgerError
    from hygiene.mail import DirectoryTransport, SesTransport, SmtpTransport, Transport, deliver, summary

    transport: Transport
    name = transport_name or str(settings.mail["transport"])
    if dry_run is not None:
        transport = DirectoryTransport(dry_run)
    elif name == "ses":
        from scanner.aws.session import AwsClients

        iam, _, _ = _configs(opts)
        clients = AwsClients(iam.aws)
        region = str(settings.mail["ses_region"]) or clients.region
        client = clients._session.client(  # the SES region may differ from the IAM one
            "ses", region_name=region, endpoint_url=iam.aws.endpoint_url, config=iam.aws.botocore_config()
        )
        transport = SesTransport(client, str(settings.mail["ses_configuration_set"]))
    else:
        transport = SmtpTransport.from_config(settings)
    try:
        ledger = Ledger(opts["db_path"] or default_db_path())
    except LedgerError as exc:
        fail(str(exc), ExitCode.SCAN_FAILED)
    with ledger:
        outcomes = deliver(report, settings, transport, ledger, now, force=force)
    for outcome in outcomes:
        detail = f" ({outcome.detail})" if outcome.detail else ""
        where = f" -> {outcome.message_id}" if outcome.status == "written" else ""
        click.echo(f"mail {outcome.status}: {outcome.recipient}: {outcome.subject}{detail}{where}", err=True)
    click.echo(f"keysweep: mail: {summary(outcomes)}", err=True)
    return int(ExitCode.SCAN_FAILED) if any(o.status == "failed" for o in outcomes) else 0


def mail_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--email", is_flag=True, help="Mail each owner a digest of only their results."),
        click.option(
            "--dry-run",
            type=click.Path(file_okay=False, path_type=Path),
            metavar="DIR",
            help="With --email: write the messages as .eml files to DIR instead of sending.",
        ),
        click.option("--transport", type=click.Choice(["smtp", "ses"]), help="Default: [mail] transport."),
        click.option("--force", is_flag=True, help="Mail even an unchanged digest sent within the period."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@hygiene_group.command("report")
@aws_options
@click.option(
    "--format",
    "-f",
    "output_format",
    type=click.Choice(["text", "json", "csv", "markdown", "html"]),
    default="html",
)
@click.option("--by", type=click.Choice(["account", "owner"]), default="account", help="Group results by.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here."
)
@click.option(
    "--split",
    "split_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also write one report per account or owner (--by) into DIR.",
)
@click.option(
    "--show-passed", is_flag=True, help="List PASS results too (text, Markdown, HTML; counted anyway)."
)
@mail_options
def report_command(
    show_passed: bool,
    output_format: str,
    by: str,
    output: Path | None,
    split_dir: Path | None,
    email: bool,
    dry_run: Path | None,
    transport: str | None,
    force: bool,
    **opts: Any,
) -> None:
    """Write a hygiene report (HTML with a chart of key ages, Markdown, JSON, CSV, text), per account or per
    owner, and with --email mail each owner a digest of only their keys (SMTP or SES; --dry-run DIR)."""
    from hygiene.report import render

    now = datetime.now(UTC)
    settings, run = _evaluate(opts, now)
    report = run.report
    if output is not None or not email:
        _write(render(report, output_format, by, show_passed=show_passed), output)
    if split_dir is not None:
        from dataclasses import replace

        suffix = {"markdown": "md", "text": "txt"}.get(output_format, output_format)
        for name, results in report.grouped(by):
            part = replace(report, results=tuple(results), title=f"{report.title}: {by} {name}")
            safe = "".join(c if c.isalnum() or c in "@._-" else "_" for c in name)
            _write(render(part, output_format, by, show_passed=show_passed), split_dir / f"{safe}.{suffix}")
    code = _exit_code(report)
    if email:
        mail_code = _send(report, settings, opts, now, dry_run, transport, force)
        code = max(code, mail_code)
    raise SystemExit(code)


@hygiene_group.command("schedule")
@aws_options
@click.option(
    "--cron",
    "cron_expression",
    required=True,
    metavar="EXPR",
    help='When to run, as a cron expression in UTC (e.g. "0 8 * * MON").',
)
@click.option("--once", is_flag=True, help="Run once now and exit (for testing the setup).")
@click.option("--max-runs", type=click.IntRange(min=1), help="Exit after this many runs.")
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each run's HTML report here (report-YYYYmmdd-HHMM.html).",
)
@mail_options
def schedule_command(
    cron_expression: str,
    once: bool,
    max_runs: int | None,
    report_dir: Path | None,
    email: bool,
    dry_run: Path | None,
    transport: str | None,
    force: bool,
    **opts: Any,
) -> None:
    """Run the checks (and with --email, the digests) on a cron schedule, as a long-running process.
    See the README for cron, Kubernetes CronJob and systemd timer alternatives."""
    import time

    from hygiene.report import render
    from hygiene.schedule import Cron, CronError, run_schedule

    try:
        cron = Cron.parse(cron_expression)
    except CronError as exc:
        fail(str(exc), ExitCode.USAGE)
    _configs(opts)  # configuration errors now, not at the first run

    def job(at: datetime) -> None:
        settings, run = _evaluate(opts, datetime.now(UTC))
        counts = run.report.counts
        click.echo(f"keysweep hygiene: {dict(counts)}", err=True)
        if report_dir is not None:
            _write(
                render(run.report, "html", show_passed=False), report_dir / f"report-{at:%Y%m%d-%H%M}.html"
            )
        if email:
            _send(run.report, settings, opts, datetime.now(UTC), dry_run, transport, force)

    def log(line: str) -> None:
        click.echo(line, err=True)

    if once:
        job(datetime.now(UTC))
        return
    click.echo(
        f"keysweep hygiene: scheduled {cron.expression!r}; next run {cron.next_after(datetime.now(UTC))}",
        err=True,
    )
    run_schedule(cron, job, sleep=time.sleep, max_runs=max_runs, log=log)


@hygiene_group.command("remediate")
@click.option("--deactivate", "deactivate", metavar="KEY", help="Set this access key Inactive.")
@click.option(
    "--quarantine",
    "quarantine",
    metavar="KEY",
    help="Attach AWSDenyAll (deny everything) to the user holding this key.",
)
@click.option("--apply", is_flag=True, help="Act. Without it, only show and record what would be done.")
@click.option("--account", metavar="ID", help="The key's account (default: decoded from the key id).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--profile", metavar="NAME")
@click.option("--endpoint-url", metavar="URL")
@click.option("--role-name", metavar="NAME")
@click.option("--external-id", metavar="ID")
@db_option
def remediate_command(
    deactivate: str | None,
    quarantine: str | None,
    apply: bool,
    account: str | None,
    db_path: Path | None,
    **opts: Any,
) -> None:
    """Deactivate a key or quarantine its user. Dry-run by default; --apply acts. Every action (planned,
    done or failed) is recorded in the database."""
    import getpass

    from hygiene.ledger import Ledger, LedgerError
    from hygiene.remediate import RemediationError, remediate

    if bool(deactivate) == bool(quarantine):
        fail("Give exactly one of --deactivate KEY or --quarantine KEY.", ExitCode.USAGE)
    action, key = ("deactivate", deactivate) if deactivate else ("quarantine", quarantine)
    assert key is not None
    opts.update(settings_path=None, accounts=(), organization=None)
    iam, _, _ = _configs(opts)
    try:
        ledger = Ledger(db_path or default_db_path())
    except LedgerError as exc:
        fail(str(exc), ExitCode.SCAN_FAILED)
    with ledger:
        try:
            plan, outcome = remediate(
                iam,
                ledger,
                action,
                key,
                datetime.now(UTC),
                apply=apply,
                account=account,
                actor=getpass.getuser(),
            )
        except RemediationError as exc:
            fail(str(exc), ExitCode.SCAN_FAILED)
    verb = "done" if outcome == "done" else "dry run (add --apply to act)"
    click.echo(f"{action} {plan.key_id} (user {plan.user}, account {plan.account_id}): {verb}")
    for command in plan.commands:
        click.echo(f"  $ {command}")
