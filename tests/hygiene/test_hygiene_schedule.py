"""The cron schedule with an injected clock (no waiting), and the report renderings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from hygiene.config import load_config
from hygiene.model import AccessKey, AccountInventory, Inventory, Root, User, frozen_map
from hygiene.report import ReportError, render
from hygiene.report.html import age_chart
from hygiene.run import evaluate
from hygiene.schedule import Cron, CronError, run_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 8 * * MON", "2026-11-23T08:00", "2026-11-30T08:00"),  # a Monday, just past 08:00
        ("0 8 * * MON", "2026-11-22T23:59", "2026-11-23T08:00"),
        ("*/15 * * * *", "2026-01-01T00:07", "2026-01-01T00:15"),
        ("30 2 1 * *", "2026-01-15T00:00", "2026-02-01T02:30"),
        ("0 0 29 2 *", "2026-03-01T00:00", "2028-02-29T00:00"),
        ("0 9 * * 7", "2026-11-23T00:00", "2026-11-29T09:00"),  # 7 = Sunday
        ("0 9 1 * MON-FRI", "2026-11-23T10:00", "2026-11-24T09:00"),  # either day field (cron rule)
        ("0 6 * JAN,JUL SAT", "2026-02-01T00:00", "2026-07-04T06:00"),
    ],
)
def test_next_run(expression: str, after: str, expected: str) -> None:
    assert Cron.parse(expression).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    "expression", ["0 8 * *", "61 * * * *", "0 8 * * FUNDAY", "*/0 * * * *", "5-1 * * * *"]
)
def test_bad_cron(expression: str) -> None:
    with pytest.raises(CronError):
        Cron.parse(expression)


def test_run_schedule_with_an_injected_clock() -> None:
    now = [at("2026-11-23T07:00")]
    slept: list[float] = []
    runs: list[datetime] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += timedelta(seconds=seconds)

    def job(moment: datetime) -> None:
        runs.append(moment)
        if len(runs) == 2:
            raise RuntimeError("SMTP down")  # logged; the schedule goes on

    log: list[str] = []
    done = run_schedule(
        Cron.parse("0 8 * * MON"), job, clock=lambda: now[0], sleep=sleep, max_runs=3, log=log.append
    )
    assert done == 3
    assert runs == [at("2026-11-23T08:00"), at("2026-11-30T08:00"), at("2026-12-07T08:00")]
    assert max(slept) <= 3600 and any("SMTP down" in line for line in log)


def sample() -> Inventory:
    now = at("2026-06-01T00:00")
    keys = tuple(
        AccessKey(f"AKIA{i:016d}", "<script>x</script>", "Active", now - timedelta(days=d), now, "s3")
        for i, d in enumerate((5, 45, 100, 200, 400, 401))
    )
    user = User(
        "<script>x</script>",
        "arn:aws:iam::111122223333:user/x",
        now,
        frozen_map({}),
        (),
        (),
        False,
        None,
        (),
        keys,
    )
    root = Root("arn:aws:iam::111122223333:root", 0, True, True, (), None, None)
    return Inventory(now, (AccountInventory("111122223333", "", (user,), root, None),)).with_leaks({})


def test_html_escapes_and_charts_key_ages() -> None:
    inventory = sample()
    report = evaluate(inventory, load_config(), inventory.taken_at).report
    assert report.age_histogram() == [
        ("< 30 d", 1),
        ("30-90 d", 1),
        ("90-180 d", 1),
        ("180-365 d", 1),
        ("> 1 year", 2),
    ]
    page = render(report, "html")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<rect") == 5
    svg = age_chart(report.age_histogram())
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_json_csv_markdown_text() -> None:
    inventory = sample()
    report = evaluate(inventory, load_config(), inventory.taken_at).report
    document = json.loads(render(report, "json"))
    assert document["summary"]["FAIL"] >= 3 and document["key_ages"][-1] == ["> 1 year", 2]
    assert render(report, "csv").splitlines()[0].startswith("check_id,status,severity,account_id,resource")
    assert "| age | keys |" in render(report, "markdown")
    assert "FAIL" in render(report, "text", "owner")
    with pytest.raises(ReportError):
        render(report, "pdf")
