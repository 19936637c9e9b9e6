"""Hygiene reports: one `Report` value (results, recommendations, key ages), rendered as text, JSON, CSV,
Markdown or HTML (mail-client safe: inline styles, an inline SVG chart of key ages), per account or per
owner. `Report.for_owner` narrows a report to one owner's results (the mail digests).

ERROR results appear in every format and in every owner's view of their account: a failed read never
reads as a clean account.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hygiene.model import CheckResult, Inventory, Status
from hygiene.recommend import Recommendation

FORMATS = ("text", "json", "csv", "markdown", "html")
GROUPINGS = ("account", "owner")
AGE_BUCKETS = ((0, 30, "< 30 d"), (30, 90, "30-90 d"), (90, 180, "90-180 d"), (180, 365, "180-365 d"),
               (365, 10**6, "> 1 year"))  # fmt: skip
STATUS_ORDER = {Status.ERROR: 0, Status.FAIL: 1, Status.MUTED: 2, Status.PASS: 3}


class ReportError(Exception):
    """A report cannot be written; a full sentence."""


@dataclass(frozen=True)
class KeyAge:
    account_id: str
    user: str
    key_id: str
    active: bool
    age_days: int | None
    owner: str | None


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    results: tuple[CheckResult, ...]
    recommendations: tuple[Recommendation, ...] = ()
    key_ages: tuple[KeyAge, ...] = ()
    accounts: tuple[str, ...] = ()
    title: str = "AWS key hygiene"
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> Counter[str]:
        return Counter(str(r.status) for r in self.results)

    def problems_first(self) -> list[CheckResult]:
        return sorted(
            self.results,
            key=lambda r: (STATUS_ORDER[r.status], -r.severity.rank, r.account_id, r.check_id, r.resource),
        )

    def grouped(self, by: str) -> list[tuple[str, list[CheckResult]]]:
        groups: dict[str, list[CheckResult]] = {}
        for r in self.problems_first():
            name = (r.owner or "(no owner)") if by == "owner" else (r.account_id or "(organization)")
            groups.setdefault(name, []).append(r)
        return sorted(groups.items())

    def for_owner(self, owner: str) -> Report:
        mine = tuple(r for r in self.results if r.owner == owner)
        keys = {r.key_id for r in mine if r.key_id}
        return Report(
            self.generated_at,
            mine,
            tuple(x for x in self.recommendations if x.key_id in keys),
            tuple(k for k in self.key_ages if k.owner == owner),
            tuple(sorted({r.account_id for r in mine})),
            f"{self.title} for {owner}",
            self.problems,
        )

    def age_histogram(self) -> list[tuple[str, int]]:
        counts = Counter[str]()
        for key in self.key_ages:
            if key.active and key.age_days is not None:
                label = next(lbl for lo, hi, lbl in AGE_BUCKETS if lo <= key.age_days < hi)
                counts[label] += 1
        return [(label, counts[label]) for _, _, label in AGE_BUCKETS]

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAIL for r in self.results)

    @property
    def errored(self) -> bool:
        return any(r.status is Status.ERROR for r in self.results)


def build_report(
    inventory: Inventory,
    results: Sequence[CheckResult],
    recommendations: Iterable[Recommendation],
    now: datetime,
) -> Report:
    owners: dict[tuple[str, str], str | None] = {}
    for r in results:
        if r.key_id and r.owner:
            owners[(r.account_id, r.key_id)] = r.owner
        if r.user and r.owner:
            owners.setdefault((r.account_id, "user:" + r.user), r.owner)
    ages = tuple(
        KeyAge(
            a.id, u.name, k.id, k.active,
            (now - k.created_at).days if k.created_at else None,
            owners.get((a.id, k.id)) or owners.get((a.id, "user:" + u.name)),
        )
        for a in inventory.accounts for u in a.users for k in (u.keys or ())
    )  # fmt: skip
    return Report(
        now,
        tuple(results),
        tuple(recommendations),
        ages,
        tuple(a.id for a in inventory.accounts),
        problems=inventory.problems,
    )


def render(report: Report, fmt: str, by: str = "account", *, show_passed: bool = True) -> str:
    if fmt not in FORMATS:
        raise ReportError(f"Unknown report format {fmt!r}: use one of {', '.join(FORMATS)}.")
    if by not in GROUPINGS:
        raise ReportError(f"Reports are grouped by account or owner, not {by!r}.")
    from hygiene.report import html, markdown, tabular

    if fmt == "json":
        return tabular.to_json(report)
    if fmt == "csv":
        return tabular.to_csv(report)
    if fmt == "markdown":
        return markdown.render(report, by, show_passed=show_passed)
    if fmt == "html":
        return html.render(report, by, show_passed=show_passed)
    return tabular.to_text(report, by, show_passed=show_passed)
