"""Running hygiene on a cron schedule as a long-running process (`keysweep hygiene schedule`).

`Cron` parses the five standard fields (minute hour day-of-month month day-of-week; `*`, lists, ranges,
steps, month and day names, `7` = Sunday; when both day fields are restricted either may match, as cron
does) and gives the next run after a moment. `run_schedule` takes its clock and sleep as arguments, so
tests drive it without waiting; times are UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


class CronError(ValueError):
    """The cron expression is invalid; the message names the field."""


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.upper().split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
        except ValueError:
            raise CronError(f"cron {name}: {step_text!r} is not a step.") from None
        if step < 1:
            raise CronError(f"cron {name}: the step must be at least 1.")

        def number(token: str) -> int:
            if token in names:
                return names[token]
            try:
                return int(token)
            except ValueError:
                raise CronError(f"cron {name}: {token!r} is not a value.") from None

        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = number(first), number(last)
        else:
            start = number(base)
            end = high if step_text else start
        if name == "day of week" and end == 7:
            end = 6 if start <= 6 else 7
            values.add(0)
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise CronError(f"cron {name}: {part!r} is outside {low}-{high}.")
        values.update(range(start, end + 1, step))
    return frozenset(v % 7 if name == "day of week" else v for v in values)


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        fields = expression.split()
        if len(fields) != 5:
            raise CronError(
                f"{expression!r}: a cron expression has five fields (minute hour day month weekday)."
            )
        return cls(
            expression,
            _field(fields[0], "minute", 0, 59, {}),
            _field(fields[1], "hour", 0, 23, {}),
            _field(fields[2], "day of month", 1, 31, {}),
            _field(fields[3], "month", 1, 12, MONTHS),
            _field(fields[4], "day of week", 0, 7, DAYS),
            fields[2] == "*",
            fields[4] == "*",
        )

    def _day_matches(self, moment: datetime) -> bool:
        by_day = moment.day in self.days
        by_weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after `moment`."""
        t = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t + timedelta(days=366 * 5)
        while t < limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            return t
        raise CronError(f"{self.expression!r} never matches.")


def run_schedule(
    cron: Cron,
    job: Callable[[datetime], object],
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], object],
    max_runs: int | None = None,
    run_now: bool = False,
    log: Callable[[str], object] = print,
) -> int:
    """Run `job(at)` at each time `cron` matches; return the number of runs (stops after `max_runs`).
    A job that raises is logged and the schedule goes on: one bad night must not end the service."""
    runs = 0
    pending_now = run_now
    while max_runs is None or runs < max_runs:
        now = clock()
        due = now if pending_now else cron.next_after(now)
        pending_now = False
        while (wait := (due - clock()).total_seconds()) > 0:
            sleep(min(wait, 3600.0))
        log(f"keysweep hygiene: run at {due:%Y-%m-%d %H:%M} UTC")
        try:
            job(due)
        except Exception as exc:  # logged, never fatal to the schedule
            log(f"keysweep hygiene: the run at {due:%Y-%m-%d %H:%M} UTC failed: {exc}")
        runs += 1
    return runs
