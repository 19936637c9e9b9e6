"""One hyperscan pass per top-level blob for both the rules and the decode gate.

The gate (`scanner.decode.gate`) and the rules each need a pass over every text blob; separately they
cost two. `FirstPass` runs the rules' database, compiled with the gate's patterns as extras, once:
the gate's hits go to the decoder (`expand(..., scan_gate=first.gate_hits)`), the rules' windows are
kept for the detector's scan of that same blob (`first.windows_for(blob)`). Blobs decoded from it
(base64 values, archive members) are small and take the usual separate passes.
"""

from __future__ import annotations

from scanner.decode.gate import Gate, Hits
from scanner.engine import Engine, Windows
from scanner.model import Blob


class FirstPass:
    """The shared pass of one worker; remembers the windows of the last blob it scanned."""

    def __init__(self, engine: Engine, gate: Gate) -> None:
        self._engine = engine
        self._gate = gate
        self._data: bytes | None = None
        self._windows: Windows | None = None

    def gate_hits(self, data: bytes) -> Hits:
        """The gate's hits in `data`; the rules' windows for it are kept for `windows_for`."""
        hits, on_extra = self._gate.collector()
        windows = self._engine.first_pass(data, on_extra)
        if windows is None:  # an engine without the gate's patterns
            return self._gate.scan(data)
        self._data, self._windows = data, windows
        return hits

    def windows_for(self, blob: Blob) -> Windows | None:
        """The rules' windows if the last pass was over this blob's very bytes, else None."""
        return self._windows if blob.data is self._data else None

    def forget(self) -> None:
        self._data = self._windows = None
