"""A leaked key's timeline: its first exposure set against its creation and its last use. Pure functions.

First exposure, best source first: the date of the first commit that held the key (git provenance, in
`ScanResult.annotations[fingerprint]["provenance"]`), else the first time keysweep saw the finding (the
database), else the scan's own start. The latter two are upper bounds: the key may have leaked earlier,
so "not used since" is then only as good as that date, and the detail says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from scanner.iam.model import KeyEnrichment, KeyState, Timeline, TimelineState

COMMIT = "commit"
FIRST_SEEN = "first-seen"
SCAN = "scan"

# Where a provenance annotation may carry the first commit's date (the git source's record is young;
# read it defensively rather than break when a field is renamed).
_FIRST_KEYS = ("first", "first_sighting", "introduced")
_DATE_KEYS = ("date", "author_date", "committed_at", "commit_date", "at")
_FLAT_KEYS = ("first_commit_date", "first_date", "introduced_at", "first_committed_at")


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_moment(value: Any) -> datetime | None:
    """An ISO 8601 string, a datetime or Unix seconds, as an aware UTC datetime; None if it is none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def commit_date(provenance: Any) -> datetime | None:
    """The first commit's date in a provenance annotation, or None."""
    if not isinstance(provenance, Mapping):
        return None
    for key in _FIRST_KEYS:
        first = provenance.get(key)
        if isinstance(first, Mapping):
            for date_key in _DATE_KEYS:
                moment = parse_moment(first.get(date_key))
                if moment is not None:
                    return moment
    for key in _FLAT_KEYS:
        moment = parse_moment(provenance.get(key))
        if moment is not None:
            return moment
    return None


def first_exposure(
    provenances: Iterable[Any], first_seen: Iterable[datetime | None], scan_started: datetime | None
) -> tuple[datetime | None, str | None]:
    """The earliest known exposure of one key and where that date comes from."""
    commits = [moment for moment in map(commit_date, provenances) if moment is not None]
    if commits:
        return min(commits), COMMIT
    seen = [as_utc(moment) for moment in first_seen if moment is not None]
    if seen:
        return min(seen), FIRST_SEEN
    if scan_started is not None:
        return as_utc(scan_started), SCAN
    return None, None


def _day(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _exposed(moment: datetime, source: str | None) -> str:
    if source == COMMIT:
        return f"first committed {_day(moment)}"
    if source == FIRST_SEEN:
        return f"first seen by keysweep {_day(moment)} (it may have leaked earlier)"
    return f"found by this scan {_day(moment)} (it may have leaked earlier)"


def timeline(enrichment: KeyEnrichment, exposed_at: datetime | None, source: str | None) -> Timeline:
    state = enrichment.state
    if state in (KeyState.CANARY, KeyState.FOREIGN) or (
        state is KeyState.UNKNOWN and enrichment.last_used_at is None and enrichment.created_at is None
    ):
        why = {
            KeyState.CANARY: "a canary key: never contacted, its use is the canary owner's business",
            KeyState.FOREIGN: "not our account: its creation and use cannot be read",
        }.get(state, "the key could not be checked")
        return Timeline(TimelineState.UNKNOWN, exposed_at, source, why)
    if exposed_at is None:
        return Timeline(TimelineState.UNKNOWN, None, None, "the first exposure is not known")
    exposed_at = as_utc(exposed_at)
    exposure = _exposed(exposed_at, source)
    created = as_utc(enrichment.created_at) if enrichment.created_at else None
    used = as_utc(enrichment.last_used_at) if enrichment.last_used_at else None
    if created is not None and created > exposed_at:
        return Timeline(
            TimelineState.CREATED_AFTER_EXPOSURE,
            exposed_at,
            source,
            f"the key was created {_day(created)}, after its exposure ({exposure}): one of the dates is "
            "wrong (a back-dated commit?); treat it as exposed",
        )
    if used is not None:
        where = ", ".join(x for x in (enrichment.last_used_service, enrichment.last_used_region) if x)
        last = f"last used {_day(used)}" + (f" ({where})" if where else "")
        if used > exposed_at:
            return Timeline(
                TimelineState.USED_AFTER_LEAK, exposed_at, source, f"{last}, after it leaked: {exposure}"
            )
        return Timeline(
            TimelineState.NOT_USED_SINCE_LEAK, exposed_at, source, f"{last}, before it leaked: {exposure}"
        )
    if state is KeyState.DELETED:
        return Timeline(
            TimelineState.UNKNOWN,
            exposed_at,
            source,
            "the key is deleted: IAM no longer tells its last use (CloudTrail still can)",
        )
    if state in (KeyState.ACTIVE, KeyState.INACTIVE):
        since = f" since it was created {_day(created)}" if created else ""
        return Timeline(TimelineState.NEVER_USED, exposed_at, source, f"never used{since}; {exposure}")
    return Timeline(TimelineState.UNKNOWN, exposed_at, source, "its last use could not be read")
