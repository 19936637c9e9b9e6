"""The worker pool: a unit that kills its worker costs that unit only; every other unit is scanned."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import scanner.pipeline
from scanner.model import Blob, Location, Skipped, SkipReason, SourceKind
from scanner.pipeline import ScanSettings, scan_sources
from scanner.rules import load_builtin_rules
from scanner.sources.interface import Limits, Source, WorkUnit

KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"


@dataclass(frozen=True)
class TextUnit(WorkUnit):
    """One made-up file; `lethal` makes the worker process reading it exit on the spot."""

    name: str
    text: str
    lethal: bool = False
    size: int = 1
    count: int = 1

    def read(self, limits: Limits) -> Iterator[Blob | Skipped]:
        if self.lethal:
            os._exit(3)  # what a segfault in a native library looks like to the pool
        yield Blob(Location(SourceKind.FILE, "/made-up", self.name), self.text.encode())

    def failed(self, reason: str) -> list[Skipped]:
        return [Skipped(Location(SourceKind.FILE, "/made-up", self.name), SkipReason.ERROR, reason)]


class Units(Source):
    def __init__(self, units: list[TextUnit]) -> None:
        self.units = units

    @property
    def description(self) -> str:
        return "made-up units"

    def plan(self, limits: Limits) -> Iterator[WorkUnit | Skipped]:
        yield from self.units


@pytest.mark.parametrize("crashes_at", [(0,), (3,), (8,), (1, 5)], ids=["first", "middle", "last", "two"])
def test_a_unit_that_kills_its_worker_is_reported_and_the_others_are_scanned(
    monkeypatch: pytest.MonkeyPatch, crashes_at: tuple[int, ...]
) -> None:
    """Every unit in flight fails with the pool, whichever crashed it: those are retried one at a time,
    so that only the unit that crashes a worker again is reported, and no other unit is lost."""
    monkeypatch.setattr(scanner.pipeline, "IN_PROCESS_BYTES", 0)  # the pool, however small the work
    good = [TextUnit(f"conf{n}.env", f"aws_access_key_id = {KEY_ID}\n") for n in range(8)]
    units: list[TextUnit] = list(good)
    for position in crashes_at:
        units.insert(position, TextUnit(f"crash{position}.bin", "", lethal=True))
    for _ in range(3):  # timing decides which units share a pool with a crash: try a few
        result = scan_sources([Units(units)], ScanSettings(rules=tuple(load_builtin_rules()), workers=2))
        found = {f.location.path for f in result.findings if f.key_id == KEY_ID}
        assert found == {unit.name for unit in good}
        crashed = {s.location.path: s for s in result.skipped}
        assert set(crashed) == {f"crash{position}.bin" for position in crashes_at}
        assert all(
            s.reason is SkipReason.ERROR and "worker process died" in s.detail for s in crashed.values()
        )
