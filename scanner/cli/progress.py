"""A progress bar on stderr for long scans: blobs and bytes done of the total, and the current rate.

Shown only on a terminal and never with --quiet; rich is imported only then, so CI runs and hooks
do not pay for it.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class ScanProgress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None
        self._blobs_done = 0
        self._blobs_total = 0
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self) -> ScanProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def planned(self, blobs: int, size: int) -> None:
        self._blobs_total = blobs
        if self._progress is not None:
            self._task = self._progress.add_task(self._label(), total=size, completed=0)

    def advanced(self, blobs: int, size: int) -> None:
        self._blobs_done += blobs
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=size, description=self._label())

    def _label(self) -> str:
        return f"scanning {self._blobs_done:,}/{self._blobs_total:,} blobs"
