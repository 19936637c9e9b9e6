"""`keysweep findings` and `keysweep triage`: read the findings database and triage what it holds.

Heavy imports (the store, rich) happen inside the commands so that `keysweep --help` stays fast.
Exit codes: 0 success, 2 usage error or unknown/ambiguous fingerprint, 3 the database cannot be used.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from scanner.cli.common import ExitCode, db_option, default_db_path, fail
from scanner.model import Severity, SourceKind, TriageStatus

if TYPE_CHECKING:
    from scanner.store import Store, StoredFinding, StoredLocation

FORMATS = ("text", "json", "csv")

_STATUSES = click.Choice([status.value for status in TriageStatus], case_sensitive=False)
_SEVERITIES = click.Choice([severity.value for severity in Severity], case_sensitive=False)
_SOURCES = click.Choice([kind.value for kind in SourceKind], case_sensitive=False)

# The columns of `findings --format csv`: one row per location, the finding's fields repeated.
CSV_COLUMNS = (
    "fingerprint",
    "rule_id",
    "rule_name",
    "severity",
    "status",
    "status_note",
    "status_updated_at",
    "secret_preview",
    "key_id",
    "secret_found",
    "first_seen_at",
    "first_seen_scan",
    "last_seen_at",
    "last_seen_scan",
    "times_seen",
    "source",
    "origin",
    "path",
    "line",
    "column",
    "commit",
    "blob_id",
    "encoding",
    "location_first_scan",
    "location_last_scan",
)
# IAM enrichment of AWS keys (empty for other findings): `iam_` + a field of the enrichment record.
IAM_CSV_FIELDS = (
    "account_id",
    "account_name",
    "ownership",
    "state",
    "user",
    "owner",
    "live",
    "last_used_at",
    "admin",
    "reason",
)

# Wide enough that rich never folds a row; each line is only as long as its content.
_TABLE_WIDTH = 100_000

_STATUS_STYLE = {
    TriageStatus.OPEN: "bold",
    TriageStatus.FALSE_POSITIVE: "dim",
    TriageStatus.REVOKED: "green",
    TriageStatus.ACCEPTED_RISK: "yellow",
}


@click.command("findings")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=_STATUSES,
    help="Only findings with this triage status (repeatable). Default: every status.",
)
@click.option("--rule", "rule_id", metavar="ID", help="Only findings of this rule id.")
@click.option("--severity", type=_SEVERITIES, help="Only findings at least this severe.")
@click.option(
    "--path",
    "path_pattern",
    metavar="PATTERN",
    help="Only findings with a location whose path (relative to its scan target) contains PATTERN; "
    "with * ? or [ it is a glob matched against the whole path (* also crosses /).",
)
@click.option("--key-id", metavar="ID", help="Only the finding of this AWS access key id.")
@click.option("--source", type=_SOURCES, help="Only findings seen in this kind of source.")
@click.option("--origin", metavar="TARGET", help="Only findings seen under this scan target.")
@click.option(
    "--scan", "scan_id", type=click.IntRange(min=1), metavar="ID", help="Only findings this scan saw."
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    metavar="DATE",
    help="Only findings first seen on or after this date or time (UTC).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Only AWS keys known to work: proven live by `scan --verify`, or Active in one of our accounts "
    "(IAM enrichment: `scan --iam` or `iam enrich`).",
)
@click.option(
    "--owner",
    metavar="TEXT",
    help="Only AWS keys whose owner (IAM user, its ARN, or an owner tag such as owner/email) contains TEXT.",
)
@click.option("--account", metavar="ID", help="Only AWS keys of this AWS account (id or name).")
@click.option(
    "--format",
    "-f",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text: a table for people; json and csv: every field and every location.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of standard output.",
)
@db_option
def findings_command(
    statuses: tuple[str, ...],
    rule_id: str | None,
    severity: str | None,
    path_pattern: str | None,
    key_id: str | None,
    source: str | None,
    origin: str | None,
    scan_id: int | None,
    since: datetime | None,
    live: bool,
    owner: str | None,
    account: str | None,
    output_format: str,
    output: Path | None,
    db_path: Path | None,
) -> None:
    """List the findings in the database: one per secret (fingerprint), with triage status and locations.

    Most severe first. Filters combine: `--status open --severity high` lists open findings that are
    high or critical. The database never holds a secret, so neither does this list: it shows
    redacted previews and AWS key ids.
    """
    from scanner.store import FindingFilter, StoreError

    filters = FindingFilter(
        statuses=frozenset(TriageStatus(s.lower()) for s in statuses),
        rule_id=rule_id,
        min_severity=Severity(severity.lower()) if severity else None,
        path=path_pattern,
        key_id=key_id,
        source=SourceKind(source.lower()) if source else None,
        origin=origin,
        scan_id=scan_id,
        since=since,
        live=live,
        owner=owner,
        account=account,
    )
    with _open_store(db_path) as store:
        try:
            found = store.list_findings(filters)
            iam = _iam_records(store, found)
        except StoreError as exc:
            fail(str(exc), ExitCode.SCAN_FAILED)
    writer = {"text": _write_text, "json": _write_json, "csv": _write_csv}[output_format]
    if output is None:
        writer(found, sys.stdout, iam)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as stream:
            writer(found, stream, iam)
    except OSError as exc:
        fail(f"Cannot write {output}: {exc.strerror or exc}.", ExitCode.SCAN_FAILED)


@click.command("triage")
@click.argument("fingerprint")
@click.option(
    "--status",
    type=_STATUSES,
    required=True,
    help="The new status: open, false_positive, revoked or accepted_risk.",
)
@click.option("--note", metavar="TEXT", help="Why (kept with the status and in the history).")
@db_option
def triage_command(fingerprint: str, status: str, note: str | None, db_path: Path | None) -> None:
    """Set the triage status of a finding, named by its fingerprint or a unique prefix (8+ characters).

    The status survives rescans. false_positive and accepted_risk silence the finding in later scans;
    revoked and open keep it reported. Every change is kept in the finding's history.
    """
    from scanner.store import FingerprintError, StoreError

    new_status = TriageStatus(status.lower())
    with _open_store(db_path) as store:
        try:
            before = store.get_finding(fingerprint)
            after = store.set_status(before.fingerprint, new_status, note)
        except FingerprintError as exc:
            fail(str(exc), ExitCode.USAGE, "list fingerprints with `keysweep findings`.")
        except StoreError as exc:
            fail(str(exc), ExitCode.SCAN_FAILED)
    click.echo(
        f"{after.short_fingerprint}  {after.rule_id}  {after.severity.value}  {after.preview}: "
        f"{before.status.value} → {after.status.value}"
    )
    if after.status_note:
        click.echo(f"note: {after.status_note}")


@contextmanager
def _open_store(db_path: Path | None) -> Iterator[Store]:
    """The existing database, or exit 3 with one line: reading commands never create one."""
    from scanner.store import Store, StoreError

    path = db_path or default_db_path()
    if not path.exists():
        fail(
            f"There is no findings database at {path}.",
            ExitCode.SCAN_FAILED,
            "run `keysweep scan` first, or pass --db PATH.",
        )
    try:
        store = Store.open(path, create=False)
    except StoreError as exc:
        fail(str(exc), ExitCode.SCAN_FAILED)
    with store:
        yield store


# Output


def _iam_records(store: Store, found: list[StoredFinding]) -> dict[str, dict[str, Any]]:
    """The stored IAM enrichment (with its timeline) of the AWS keys among `found`, by key id."""
    key_ids = {f.key_id.upper() for f in found if f.key_id}
    if not key_ids:
        return {}
    from scanner.iam.service import enriched_from_store

    return {key: enriched_from_store(item).record() for key, item in store.key_enrichments(key_ids).items()}


def _iam_of(finding: StoredFinding, iam: dict[str, dict[str, Any]] | None) -> dict[str, Any] | None:
    return (iam or {}).get(finding.key_id.upper()) if finding.key_id else None


def _write_text(
    found: list[StoredFinding], stream: TextIO, iam: dict[str, dict[str, Any]] | None = None
) -> None:
    from rich.table import Table
    from rich.text import Text

    from scanner.report.text import SEVERITY_STYLE, make_console

    console = make_console(stream)
    if not found:
        console.print("No findings match.")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    headings = ("fingerprint", "severity", "rule", "status", "first seen", "last seen", "locations")
    extra = ("aws state", "owner", "timeline") if iam else ()
    for heading in (*headings, "first location", "key id", *extra):
        table.add_column(heading, no_wrap=True, justify="right" if heading == "locations" else "left")
    for finding in found:
        first = finding.locations[0] if finding.locations else None
        table.add_row(
            finding.short_fingerprint,
            Text(finding.severity.value, style=SEVERITY_STYLE.get(finding.severity, "")),
            finding.rule_id,
            Text(finding.status.value, style=_STATUS_STYLE.get(finding.status, "")),
            _when(finding.first_seen_at),
            _when(finding.last_seen_at),
            str(len(finding.locations)),
            _place(first) if first is not None else "",
            finding.key_id or "",
            *_iam_cells(_iam_of(finding, iam) if iam else None, bool(iam)),
        )
    # Rows are never folded or cut, even on a narrow terminal (which wraps them): a path stays whole.
    with console.capture() as captured:
        console.width = _TABLE_WIDTH
        console.print(table)
    # Cells are padded to their column's width; trailing blanks help nobody (and upset diffs).
    stream.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    console.print(f"{len(found):,} finding{'' if len(found) == 1 else 's'}")


def _iam_cells(record: dict[str, Any] | None, shown: bool) -> tuple[str, ...]:
    if not shown:
        return ()
    if record is None:
        return ("", "", "")
    who = "ROOT" if record.get("principal") == "root" else record.get("user") or ""
    owner = " ".join(x for x in (who, f"<{record['owner']}>" if record.get("owner") else "") if x)
    state = record["state"] + ("" if record.get("live") is None else (" live" if record["live"] else " dead"))
    return (state, owner, (record.get("timeline") or {}).get("state", ""))


def _write_json(
    found: list[StoredFinding], stream: TextIO, iam: dict[str, dict[str, Any]] | None = None
) -> None:
    records = []
    for finding in found:
        record = finding.as_record()
        if finding.key_id:
            record["iam"] = _iam_of(finding, iam)
        records.append(record)
    json.dump({"findings": records}, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def _write_csv(
    found: list[StoredFinding], stream: TextIO, iam: dict[str, dict[str, Any]] | None = None
) -> None:
    """One row per location (a finding without locations still gets one row); lists joined with `+`."""
    columns = (*CSV_COLUMNS, *(f"iam_{name}" for name in IAM_CSV_FIELDS), "iam_timeline")
    writer = csv.DictWriter(stream, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for finding in found:
        record = finding.as_record()
        facts = _iam_of(finding, iam) or {}
        record.update({f"iam_{name}": facts.get(name) for name in IAM_CSV_FIELDS})
        record["iam_timeline"] = (facts.get("timeline") or {}).get("state")
        locations = record.pop("locations") or [{}]
        for location in locations:
            row = dict(record)
            row.update(location)
            row["location_first_scan"] = row.pop("first_scan", None)
            row["location_last_scan"] = row.pop("last_scan", None)
            writer.writerow({column: _cell(row.get(column)) for column in columns})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "+".join(str(v) for v in value)
    return str(value)


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def _place(location: StoredLocation) -> str:
    from scanner.report.records import display_path

    text = f"{display_path(location.location)}:{location.line}"
    if location.location.commit:
        text += f" @{location.location.commit[:10]}"
    return text
