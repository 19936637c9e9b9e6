"""Every leaked AWS key traced to its owner: key id decoding, canaries, enrichment, verification, timeline.

`enrich_keys` (enrich.py) is the engine; `service.py` connects it to scan results and the database;
`keyid.py` and `canaries.py` work offline; `inspect.py` reads our accounts; `verify.py` is the only
module that ever uses a leaked secret, and only with `--verify`. Heavy modules are not imported here so
that reading the configuration stays cheap.
"""

from __future__ import annotations
