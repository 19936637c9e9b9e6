"""`keysweep iam`: trace AWS access keys to their owners. `iam enrich` over the database, `iam show KEY_ID`.

`keysweep scan --iam` does the same for the keys a scan finds (`enrich_scan_result`, called once by the
scan command). Heavy imports (boto3, the store) happen inside the commands so `keysweep --help` stays fast.
Exit codes: 0 success (keys that could not be checked say `unknown` with the reason, and the problems are
listed), 2 usage or configuration error, 3 the database cannot be used.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from scanner.cli.common import ExitCode, db_option, fail
from scanner.model import TriageStatus

if TYPE_CHECKING:
    from scanner.iam.config import IamConfig
    from scanner.iam.service import EnrichedKey
    from scanner.result import ScanResult
    from scanner.store import Store

_STATUSES = click.Choice([status.value for status in TriageStatus], case_sensitive=False)

STATE_STYLE = {
    "active": "bold red",
    "inactive": "yellow",
    "deleted": "green",
    "foreign": "magenta",
    "canary": "cyan",
    "unknown": "bold yellow",
}
TIMELINE_STYLE = {
    "used-after-leak": "bold white on red",
    "created-after-exposure": "bold red",
    "unknown": "yellow",
    "leaked-not-used-since": "",
    "never-used": "dim",
}


def with_overrides(config: IamConfig, **overrides: Any) -> IamConfig:
    """`config` with command-line values (None: keep the configured one)."""
    aws_fields = {"profile", "endpoint_url", "region"}
    aws = {k: v for k, v in overrides.items() if k in aws_fields and v}
    rest = {k: v for k, v in overrides.items() if k not in aws_fields and v is not None}
    if aws:
        rest["aws"] = replace(config.aws, **aws)
    return replace(config, **rest) if rest else config


def enrich_scan_result(
    result: ScanResult, store: Store, config: IamConfig, *, verify: bool, profile: str | None
) -> ScanResult:
    """The scan command's one call: enrich, store and annotate the AWS keys of `result`."""
    from scanner.iam.service import enrich_scan

    return enrich_scan(
        result, store, with_overrides(config, profile=profile), now=datetime.now(UTC), verify=verify
    )


@click.group("iam")
def iam_group() -> None:
    """Trace AWS access keys to their owners: account, IAM user or root, status, last use, owner contact,
    console access, MFA, admin policies, and the leak timeline ("used after it leaked" first).

    Uses your AWS credentials (the normal boto3 chain, or a profile) and, in each of your accounts, a
    read-only role (`[iam] role_name`). It never uses a leaked secret, except with `scan --verify`.
    Canary-token keys are recognised offline and never contacted.
    """


@iam_group.command("enrich")
@click.option("--key-id", "key_ids", multiple=True, metavar="ID", help="Only this key id (repeatable).")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=_STATUSES,
    help="Only keys of findings with this triage status (repeatable). Default: every status.",
)
@click.option("--refresh", is_flag=True, help="Ignore the cache ([iam] cache_ttl) and ask AWS again.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: .keysweep.toml in the current directory).",
)
@click.option("--profile", metavar="NAME", help="AWS profile (default: [iam] profile or the usual chain).")
@click.option(
    "--endpoint-url", metavar="URL", help="AWS endpoint (default: [iam] endpoint_url, $AWS_ENDPOINT_URL)."
)
@click.option("--role-name", metavar="NAME", help="Role to assume in each of our accounts ([iam] role_name).")
@click.option("--external-id", metavar="ID", help="External id the role's trust policy requires.")
@click.option("--account", "accounts", multiple=True, metavar="ID", help="Also one of ours (repeatable).")
@click.option(
    "--organization/--no-organization",
    default=None,
    help="Take the Organization's accounts as ours (ListAccounts); default: [iam] organization.",
)
@click.option("--format", "-f", "output_format", type=click.Choice(["text", "json"]), default="text")
@db_option
def enrich_command(
    key_ids: tuple[str, ...],
    statuses: tuple[str, ...],
    refresh: bool,
    config_path: Path | None,
    profile: str | None,
    endpoint_url: str | None,
    role_name: str | None,
    external_id: str | None,
    accounts: tuple[str, ...],
    organization: bool | None,
    output_format: str,
    db_path: Path | None,
) -> None:
    """Enrich every AWS key id in the findings database (results are stored, cached per key id).

    Secrets are never stored, so this cannot --verify: use `keysweep scan --iam --verify` for that.
    """
    from scanner.cli.findings import _open_store
    from scanner.config import ConfigError, load_config
    from scanner.iam.keyid import is_key_id
    from scanner.iam.service import enrich_stored
    from scanner.store import StoreError

    bad = [k for k in key_ids if not is_key_id(k.strip().upper())]
    if bad:
        fail(f"{', '.join(bad)}: not AWS access key id(s).", ExitCode.USAGE)
    try:
        config = load_config(config_path, [Path(".")]).iam
    except ConfigError as exc:
        fail(str(exc), ExitCode.USAGE)
    extra = tuple(a.strip() for a in accounts)
    if any(not (a.isdigit() and len(a) == 12) for a in extra):
        fail("--account takes 12-digit AWS account ids.", ExitCode.USAGE)
    config = with_overrides(
        config,
        profile=profile,
        endpoint_url=endpoint_url,
        role_name=role_name,
        external_id=external_id,
        organization=organization,
        accounts=tuple(dict.fromkeys((*config.accounts, *extra))) if extra else None,
    )
    with _open_store(db_path) as store:
        try:
            run = enrich_stored(
                store,
                config,
                now=datetime.now(UTC),
                key_ids=key_ids or None,
                statuses=[TriageStatus(s.lower()) for s in statuses],
                refresh=refresh,
            )
        except StoreError as exc:
            fail(str(exc), ExitCode.SCAN_FAILED)
    if output_format == "json":
        document = {
            "keys": [run.keys[k].record() for k in sorted(run.keys)],
            "problems": list(run.problems),
            "aws_calls": run.calls,
            "cached": run.cached,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        write_key_table(list(run.keys.values()), sys.stdout)
        click.echo(f"{len(run.keys)} key(s), {run.cached} from the cache, {run.calls} AWS call(s)")
    for problem in run.problems:
        click.echo(f"keysweep: could not check: {problem}", err=True)


@iam_group.command("show")
@click.argument("key_id")
@click.option("--format", "-f", "output_format", type=click.Choice(["text", "json"]), default="text")
@db_option
def show_command(key_id: str, output_format: str, db_path: Path | None) -> None:
    """Show what is stored about one AWS access key id (run `iam enrich` or `scan --iam` first)."""
    from scanner.cli.findings import _open_store
    from scanner.iam.service import enriched_from_store

    with _open_store(db_path) as store:
        stored = store.key_enrichments([key_id]).get(key_id.strip().upper())
    if stored is None:
        fail(
            f"Nothing is stored about the key id {key_id.strip().upper()}.",
            ExitCode.USAGE,
            "run `keysweep iam enrich` or `keysweep scan --iam` first.",
        )
        return
    item = enriched_from_store(stored)
    if output_format == "json":
        click.echo(json.dumps(item.record(), indent=2, ensure_ascii=False))
        return
    for label, value in describe(item):
        click.echo(f"{label:<16}{value}")


def _when(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else ""


def describe(item: EnrichedKey) -> list[tuple[str, str]]:
    record = item.record()
    timeline = record.get("timeline") or {}
    verification = record.get("verification") or {}

    def yes_no(value: Any) -> str:
        return "unknown" if value is None else ("yes" if value else "no")

    rows = [
        ("key id", record["key_id"]),
        ("kind", record.get("kind") or ""),
        (
            "account",
            f"{record.get('account_id') or 'unknown'} ({record.get('account_source') or 'not known'})",
        ),
        ("account name", record.get("account_name") or ""),
        ("ownership", record["ownership"]),
        ("state", record["state"]),
        ("reason", record.get("reason") or ""),
        ("canary", record.get("canary") or ""),
        ("principal", record.get("principal") or ""),
        ("user", record.get("user") or ""),
        ("user arn", record.get("user_arn") or ""),
        ("contacts", ", ".join(f"{k}={v}" for k, v in (record.get("contacts") or {}).items())),
        ("created", _when(record.get("created_at"))),
        ("last used", _when(record.get("last_used_at"))),
        ("last service", record.get("last_used_service") or ""),
        ("last region", record.get("last_used_region") or ""),
        ("console access", yes_no(record.get("console_access"))),
        ("MFA", yes_no(record.get("mfa"))),
        ("admin", yes_no(record.get("admin"))),
        ("admin via", "; ".join(record.get("admin_via") or [])),
        ("live", yes_no(record.get("live"))),
        (
            "verified",
            f"{verification['result']} at {_when(verification.get('at'))}" if verification else "no",
        ),
        ("timeline", f"{timeline.get('state', '')}: {timeline.get('detail', '')}"),
        (
            "first exposure",
            f"{_when(timeline.get('first_exposure'))} ({timeline.get('exposure_source') or ''})",
        ),
        ("gaps", "; ".join(record.get("gaps") or [])),
        ("fetched", _when(record.get("fetched_at"))),
    ]
    return [(label, value) for label, value in rows if value]


def write_key_table(items: list[EnrichedKey], stream: TextIO) -> None:
    from rich.table import Table
    from rich.text import Text

    from scanner.iam.model import URGENCY
    from scanner.report.text import make_console

    console = make_console(stream)
    if not items:
        console.print("No AWS key ids to enrich.")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for heading in ("key id", "account", "state", "user", "contact", "last used", "timeline", "why"):
        table.add_column(heading, no_wrap=True)
    ordered = sorted(items, key=lambda item: (URGENCY[item.timeline.state], item.enrichment.key_id))
    for item in ordered:
        record = item.record()
        table.add_row(
            record["key_id"],
            record.get("account_id") or "",
            Text(record["state"], style=STATE_STYLE.get(record["state"], "")),
            ("ROOT" if record.get("principal") == "root" else record.get("user")) or "",
            record.get("owner") or "",
            _when(record.get("last_used_at")),
            Text(item.timeline.state.value, style=TIMELINE_STYLE.get(item.timeline.state.value, "")),
            (record.get("reason") or record.get("canary") or "")
            if record["state"] in ("unknown", "canary")
            else "",
        )
    with console.capture() as captured:
        console.width = 100_000
        console.print(table)
    stream.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
