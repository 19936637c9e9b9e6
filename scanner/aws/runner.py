"""Blocking boto3 calls from asyncio: a bounded thread pool, a concurrency limit per account, a rate limit.

IAM and STS quotas are per account, so calls into one account are limited (`per_account_concurrency`)
while different accounts proceed side by side; the pool bounds the total. Throttling retries and backoff
are botocore's (see `session.py`), inside each call.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class AwsRunner:
    """`await runner.run(scope, function, *args)`: `function` runs in the pool, at most
    `per_scope` at once per scope (an account id, or "caller" for the caller's own calls)."""

    def __init__(self, max_workers: int = 16, per_scope: int = 4) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, max_workers), thread_name_prefix="keysweep-aws"
        )
        self._per_scope = max(1, per_scope)
        self._limits: dict[str, asyncio.Semaphore] = {}
        self.calls = 0

    async def run(self, scope: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        limit = self._limits.get(scope)
        if limit is None:
            limit = self._limits[scope] = asyncio.Semaphore(self._per_scope)
        async with limit:
            self.calls += 1
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> AwsRunner:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class RateLimiter:
    """At most `rate` starts per second, spread evenly (no bursts). `rate <= 0` means no limit."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self._interval:
            return
        async with self._lock:
            now = self._clock()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._clock()
            self._next = max(now, self._next) + self._interval
