"""The schema a new findings database gets, as SQL: creating one then does not load sqlite-utils.

`schema.sql` is what the migrations (`migrations.py`) create on an empty database, read back from SQLite's
own catalogue. Its header names the steps and the digest of the `migrations.py` it was made from;
`Store.open` uses it for an empty file only when both match this version, and otherwise runs the
migrations with sqlite-utils (as it does for an older database). The migrations stay the one definition
of the schema; this is a derived copy, and `tests/store/test_store_schema.py` fails until it is made
again after any change to `migrations.py`:

    python -m scanner.store.schema > scanner/store/schema.sql

Why: a CI job on a hosted runner starts with no database, and importing sqlite-utils (with its
plugin machinery) costs such a job ~45 ms of a ~0.25 s scan.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from scanner.store import migrations as _migrations_module
from scanner.store.migrations import KNOWN_MIGRATIONS, migration_set

SCHEMA_FILE = Path(__file__).with_name("schema.sql")
_DIGEST = "-- migrations.py sha256: "
_STEPS = "-- steps: "


def migrations_digest() -> str:
    """The sha256 of `migrations.py` as this version ships it."""
    return hashlib.sha256(Path(str(_migrations_module.__file__)).read_bytes()).hexdigest()


def render() -> str:
    """`schema.sql` for this version: apply every step to an empty database and list what it holds."""
    from sqlite_utils import Database

    conn = sqlite3.connect(":memory:")
    try:
        migration_set().apply(Database(conn, execute_plugins=False))
        rows = conn.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()
    header = [
        "-- The findings database schema: what the steps of migrations.py create on an empty database.",
        "-- Made by `python -m scanner.store.schema > scanner/store/schema.sql`; do not edit.",
        f"{_DIGEST}{migrations_digest()}",
        f"{_STEPS}{' '.join(KNOWN_MIGRATIONS)}",
    ]
    return "\n".join(header) + "\n\n" + "".join(f"{sql};\n" for (sql,) in rows)


def statements() -> list[str] | None:
    """The statements of `schema.sql`, or None when it is missing or was not made from this version's
    migrations (then the caller runs the migrations)."""
    try:
        text = SCHEMA_FILE.read_text(encoding="utf-8")
    except OSError:
        return None
    lines = text.splitlines(keepends=True)
    digest = next((line[len(_DIGEST) :].strip() for line in lines if line.startswith(_DIGEST)), None)
    steps = next((line[len(_STEPS) :].split() for line in lines if line.startswith(_STEPS)), None)
    if digest != migrations_digest() or steps != KNOWN_MIGRATIONS:
        return None
    found: list[str] = []
    pending = ""
    for line in lines:
        if not pending and (line.startswith("--") or not line.strip()):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    return found if not pending.strip() else None


if __name__ == "__main__":
    print(render(), end="")
