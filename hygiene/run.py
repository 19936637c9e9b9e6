"""One hygiene run, end to end: collect the inventory, join the findings database (leaked keys), run the
checks, resolve owners, recommend, build the report. The CLI and the schedule both call `run_hygiene`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hygiene.checks import run_checks, select
from hygiene.config import HygieneConfig
from hygiene.inventory import Target, collect, leaks_from_store
from hygiene.model import CheckResult, Inventory
from hygiene.owners import owner_resolver
from hygiene.recommend import recommend
from hygiene.report import Report, build_report
from scanner.iam.config import IamConfig


@dataclass(frozen=True)
class Run:
    inventory: Inventory
    results: tuple[CheckResult, ...]
    report: Report


def join_findings(inventory: Inventory, db_path: Path | None) -> Inventory:
    """The inventory with the leaked keys of the findings database (or the reason it could not be read)."""
    from scanner.store import Store, StoreError

    if db_path is None:
        return inventory.with_leaks({}, "no findings database was given")
    if not db_path.exists():
        return inventory.with_leaks(
            {}, f"there is no findings database at {db_path} (run `keysweep scan` first, or pass --db)"
        )
    try:
        with Store.open(db_path, create=False) as store:
            return inventory.with_leaks(leaks_from_store(store))
    except StoreError as exc:
        return inventory.with_leaks({}, f"the findings database cannot be read: {exc}")


def evaluate(inventory: Inventory, config: HygieneConfig, now: datetime, only: Sequence[str] = ()) -> Run:
    results = run_checks(inventory, config, now, select(only), owner_resolver(inventory, config))
    report = build_report(inventory, results, recommend(inventory, results, now), now)
    return Run(inventory, tuple(results), report)


def run_hygiene(
    iam: IamConfig,
    config: HygieneConfig,
    now: datetime,
    *,
    target: Target | None = None,
    db_path: Path | None = None,
    only: Sequence[str] = (),
) -> Run:
    inventory = join_findings(collect(iam, now, target or Target()), db_path)
    return evaluate(inventory, config, now, only)
