"""keysweep: find leaked secrets, follow each AWS key to its owner, keep key hygiene in check."""

from __future__ import annotations

__version__ = "0.1.0"
