"""The findings database (SQLite through sqlite-utils): scans, findings by fingerprint, locations, triage.

See `migrations.py` for the schema, `store.py` for the `Store` API, `rows.py` for the SQL and conversions.
"""

from __future__ import annotations

from scanner.store.store import Store
from scanner.store.values import (
    MIN_PREFIX,
    SHORT_FINGERPRINT,
    FindingFilter,
    FingerprintError,
    RecordedScan,
    ScanStatus,
    StoredFinding,
    StoredKeyEnrichment,
    StoredLocation,
    StoredScan,
    StoreError,
    TriageEvent,
)

__all__ = [
    "MIN_PREFIX",
    "SHORT_FINGERPRINT",
    "FindingFilter",
    "FingerprintError",
    "RecordedScan",
    "ScanStatus",
    "Store",
    "StoreError",
    "StoredFinding",
    "StoredKeyEnrichment",
    "StoredLocation",
    "StoredScan",
    "TriageEvent",
]
