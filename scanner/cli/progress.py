"""A rich progress bar on stderr for long scans: only on a terminal, never with --quiet."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class ScanProgress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bytes: TaskID | None = None
        self._blobs: TaskID | None = None
        self._progress: Progress | None = None
        if self.enabled:
            self._progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self) -> ScanProgress:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._progress:
            self._progress.stop()

    def planned(self, blobs: int, size: int) -> None:
        if self._progress:
            self._blobs = self._progress.add_task("scanning", total=size, completed=0)
            self._count_total = blobs
            self._count = 0

    def advanced(self, blobs: int, size: int) -> None:
        if self._progress and self._blobs is not None:
            self._count += blobs
            self._progress.update(
                self._blobs, advance=size, description=f"scanning {self._count:,}/{self._count_total:,} blobs"
            )
