"""The reporter interface: a ScanResult in, text out. Reporters never scan, store or call the network."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TextIO

from scanner.result import OutputOptions, ScanResult


class ReportError(Exception):
    """A report cannot be written (bad option combination, unwritable output)."""


class Reporter(ABC):
    name: str = ""
    description: str = ""

    @abstractmethod
    def write(self, result: ScanResult, options: OutputOptions, stream: TextIO) -> None:
        """Write the whole report for `result` to `stream`."""
