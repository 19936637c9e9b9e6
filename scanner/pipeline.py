"""Run a scan: plan the sources, ship work units to a process pool driven by asyncio, gather results.

Workers are forked once with the rules, the compiled database and the policy, so each unit costs one
pickled value out (paths or object ids) and its findings back. Small scans skip the pool entirely:
process start-up would cost more than the work. A unit that fails as a whole (a bug, a crashed
worker) becomes Skipped values with the reason; the scan goes on.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from scanner.decode import expand
from scanner.decode.gate import engine_extras, gate
from scanner.detect import Detector
from scanner.engine import Engine
from scanner.firstpass import FirstPass
from scanner.model import Finding, Skipped, TriageStatus
from scanner.policy import Policy
from scanner.result import ScanResult, ScanStats
from scanner.rulecache import compiled_database
from scanner.rules import Rule
from scanner.sources.interface import Limits, Source, WorkUnit

if TYPE_CHECKING:  # imported where the pool starts: a small scan never loads multiprocessing
    from concurrent.futures import Executor, ProcessPoolExecutor

# Below this many planned bytes the scan runs in this process: forking workers would cost more.
IN_PROCESS_BYTES = 24 * 1024 * 1024


class Progress(Protocol):
    def planned(self, blobs: int, size: int) -> None: ...

    def advanced(self, blobs: int, size: int) -> None: ...


@dataclass(frozen=True)
class ScanSettings:
    rules: tuple[Rule, ...]
    policy: Policy = field(default_factory=Policy)
    limits: Limits = field(default_factory=Limits)
    workers: int = 0  # 0: one per core
    decode: bool = True

    @property
    def worker_count(self) -> int:
        return self.workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


@dataclass(frozen=True)
class UnitOutcome:
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    blobs: int
    size: int


class _WorkerState:
    def __init__(self, rules: Sequence[Rule], database: bytes | None, settings: ScanSettings) -> None:
        """`database`: from `compiled_database(rules, engine_extras())`."""
        engine = Engine(rules, database, engine_extras())
        self.detector = Detector(engine, settings.policy)
        self.first_pass = FirstPass(engine, gate())
        self.limits = settings.limits
        self.decode = settings.decode


_STATE: _WorkerState | None = None


def _init_worker(rules: Sequence[Rule], database: bytes | None, settings: ScanSettings) -> None:
    global _STATE
    _STATE = _WorkerState(rules, database, settings)


def _scan_unit_in_worker(unit: WorkUnit) -> UnitOutcome:
    assert _STATE is not None, "worker not initialised"
    return scan_unit(unit, _STATE)


def scan_unit(unit: WorkUnit, state: _WorkerState) -> UnitOutcome:
    """Read a unit, decode each blob, detect. Never raises: a failure becomes Skipped values."""
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    seen: dict[tuple[object, ...], int] = {}
    blobs = 0
    size = 0
    detector = state.detector
    first_pass = state.first_pass
    try:
        for item in unit.read(state.limits):
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            if item.first_line == 1 and item.first_column == 1:
                blobs += 1
            size += len(item.data)
            first_pass.begin(item)
            derived = expand(item, state.limits, scan_gate=first_pass.gate_hits) if state.decode else (item,)
            for blob in derived:
                if isinstance(blob, Skipped):
                    skipped.append(blob)
                    continue
                for finding in detector.findings(blob, first_pass.windows_for(blob)):
                    # Overlapping chunks can see one key twice: once alone at the end of a chunk, once
                    # paired with its secret in the next. Keep the most complete sighting.
                    key = (
                        finding.fingerprint,
                        finding.location,
                        finding.line,
                        finding.column,
                        finding.rule_id,
                    )
                    previous = seen.get(key)
                    if previous is None:
                        seen[key] = len(findings)
                        findings.append(finding)
                    elif finding.secret_found and not findings[previous].secret_found:
                        findings[previous] = finding
            first_pass.end(item)
    except Exception as exc:  # a bug must not lose the rest of the scan
        skipped.extend(unit.failed(f"scanning failed: {type(exc).__name__}: {exc}."))
    first_pass.end_unit()
    return UnitOutcome(tuple(findings), tuple(skipped), blobs, size)


def scan_sources(
    sources: Sequence[Source],
    settings: ScanSettings,
    progress: Progress | None = None,
) -> ScanResult:
    """Plan, scan and gather. Small scans run in this process; larger ones in a process pool driven by
    asyncio (imported only then: a CI hook's few files should not pay for it). A source that expects a
    large scan gets the pool started before it plans (the workers fork from a smaller process and load
    the rules meanwhile); once planning is over each source may start follow-up work to run beside the
    scan (`Source.scan_starting`; the caller closes the sources)."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    database = compiled_database(settings.rules, engine_extras())
    early_pool: ProcessPoolExecutor | None = None
    if settings.worker_count > 1 and any(source.expects_large_scan() for source in sources):
        early_pool = _new_pool(settings, database, start=True)
        _import_in_background("asyncio")  # ~50 ms, done while planning waits on git
    try:
        units: list[WorkUnit] = []
        skipped: list[Skipped] = []
        for source in sources:
            for item in source.plan(settings.limits):
                if isinstance(item, Skipped):
                    skipped.append(item)
                else:
                    units.append(item)
        for source in sources:
            source.scan_starting()
        total_bytes = sum(unit.size for unit in units)
        if progress:
            progress.planned(sum(unit.count for unit in units), total_bytes)
        outcomes: list[UnitOutcome] = []
        if total_bytes < IN_PROCESS_BYTES or settings.worker_count == 1 or len(units) < 2:
            if early_pool is not None:
                early_pool.shutdown(wait=False, cancel_futures=True)
                early_pool = None
            state = _WorkerState(settings.rules, database, settings)
            for unit in units:
                outcomes.append(scan_unit(unit, state))
                if progress:
                    progress.advanced(unit.count, unit.size)
        else:
            import asyncio

            outcomes = asyncio.run(_scan_in_pool(units, settings, database, progress, early_pool))
            early_pool = None  # shut down by _scan_in_pool
    finally:
        if early_pool is not None:
            early_pool.shutdown(wait=False, cancel_futures=True)
    findings: list[Finding] = []
    suppressed: list[Finding] = []
    blobs = 0
    size = 0
    for outcome in outcomes:
        for finding in outcome.findings:
            (suppressed if finding.suppressed_by else findings).append(finding)
        skipped.extend(outcome.skipped)
        blobs += outcome.blobs
        size += outcome.size
    return ScanResult(
        targets=tuple(source.description for source in sources),
        started_at=started_at,
        findings=tuple(sorted(findings, key=_order)),
        suppressed=tuple(sorted(suppressed, key=_order)),
        skipped=tuple(skipped),
        stats=ScanStats(
            blobs=blobs, bytes=size, duration_seconds=time.perf_counter() - clock, rules=len(settings.rules)
        ),
        rules=settings.rules,
    )


async def run_scan(
    sources: Sequence[Source],
    settings: ScanSettings,
    progress: Progress | None = None,
) -> ScanResult:
    """`scan_sources` for asyncio callers (the web service): runs in a thread, the loop stays free."""
    import asyncio

    return await asyncio.to_thread(scan_sources, sources, settings, progress)


def _order(finding: Finding) -> tuple[object, ...]:
    location = finding.location
    return (
        location.origin,
        location.path,
        location.commit or "",
        finding.line,
        finding.column,
        finding.rule_id,
    )


def _new_pool(settings: ScanSettings, database: bytes | None, *, start: bool = False) -> ProcessPoolExecutor:
    """`start`: fork the workers now (they initialise while the parent goes on), not on first use."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=settings.worker_count,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(settings.rules, database, settings),
    )
    if start:
        pool.submit(_ready)  # with fork, the first task starts every worker
    return pool


def _import_in_background(module: str) -> None:
    import importlib
    import threading

    threading.Thread(target=importlib.import_module, args=(module,), daemon=True).start()


def _ready() -> None:
    """A task that does nothing: submitted to start a pool's workers."""


async def _scan_in_pool(
    units: list[WorkUnit],
    settings: ScanSettings,
    database: bytes | None,
    progress: Progress | None,
    started: ProcessPoolExecutor | None = None,
) -> list[UnitOutcome]:
    """Scan units in worker processes (`started`: a pool already started; it is shut down here).

    A crashed worker breaks the pool, and every unit in flight fails with it, whichever crashed: the
    pool is replaced and each of those units runs again, alone in the new pool (the others wait), so
    that a second break names the unit that causes it. That one is reported as skipped; the others are
    scanned."""
    import asyncio
    from concurrent.futures.process import BrokenProcessPool

    loop = asyncio.get_running_loop()
    outcomes: list[UnitOutcome] = []
    in_flight = asyncio.Semaphore(settings.worker_count * 3)
    pools: list[Executor] = [started if started is not None else _new_pool(settings, database)]
    replacing = asyncio.Lock()
    turns = _Turns()

    async def run(unit: WorkUnit) -> UnitOutcome:
        pool = pools[-1]
        try:
            return await loop.run_in_executor(pool, _scan_unit_in_worker, unit)
        except BrokenProcessPool:
            async with replacing:
                if pools[-1] is pool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pools.append(_new_pool(settings, database))
            raise

    async def one(unit: WorkUnit) -> None:
        async with in_flight:
            outcome = None
            try:
                async with turns.shared():
                    outcome = await run(unit)
            except BrokenProcessPool:
                async with turns.alone():
                    try:
                        outcome = await run(unit)
                    except BrokenProcessPool:
                        failed = unit.failed("a worker process died while scanning it.")
                        outcome = UnitOutcome((), tuple(failed), 0, 0)
            outcomes.append(outcome)
            if progress:
                progress.advanced(unit.count, unit.size)

    try:
        await asyncio.gather(*(one(unit) for unit in _largest_first(units)))
    finally:
        for executor in pools:
            executor.shutdown(wait=True, cancel_futures=True)
    return outcomes


class _Turns:
    """Units run together (`shared`), or one runs alone (`alone`: it waits for the running ones to
    finish, and the others wait for it)."""

    def __init__(self) -> None:
        import asyncio

        self._condition = asyncio.Condition()
        self._running = 0
        self._waiting_alone = 0
        self._alone = False

    @contextlib.asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._condition:
            await self._condition.wait_for(lambda: not self._alone and not self._waiting_alone)
            self._running += 1
        try:
            yield
        finally:
            async with self._condition:
                self._running -= 1
                self._condition.notify_all()

    @contextlib.asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        async with self._condition:
            self._waiting_alone += 1
            await self._condition.wait_for(lambda: not self._alone and self._running == 0)
            self._waiting_alone -= 1
            self._alone = True
        try:
            yield
        finally:
            async with self._condition:
                self._alone = False
                self._condition.notify_all()


def _largest_first(units: Iterable[WorkUnit]) -> list[WorkUnit]:
    """Big units first so the last unit to finish is a small one and both cores end together."""
    return sorted(units, key=lambda unit: unit.size, reverse=True)


def apply_triage(result: ScanResult, statuses: Mapping[str, TriageStatus]) -> ScanResult:
    """Findings triaged as false positive or accepted risk move to `suppressed`, naming the status."""
    kept: list[Finding] = []
    silenced: list[Finding] = list(result.suppressed)
    for finding in result.findings:
        status = statuses.get(finding.fingerprint)
        if status is not None and status.silences:
            silenced.append(finding.suppressed(f"triage:{status.value}"))
        else:
            kept.append(finding)
    return replace(result, findings=tuple(kept), suppressed=tuple(sorted(silenced, key=_order)))
