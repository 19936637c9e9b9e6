"""Caches of the rules, kept between runs in the user's cache directory (or `$KEYSWEEP_CACHE_DIR`).

- Compiled hyperscan databases, keyed by the digest of the enabled rules. Compiling a few hundred
  rules takes a noticeable fraction of a second; a CI step runs keysweep on every push, so the
  compiled database is reused until the rules (built-in, custom or enabled set) change.
- The built-in rules, parsed: `rules.load_builtin_rules` keeps them as JSON keyed by the digest of
  the rule files' text (parsing the TOML costs a CI step ~25 ms of its start-up).

A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from scanner.engine import HAVE_HYPERSCAN, Engine, ExtraPattern, compile_database, extras_digest, rules_digest
from scanner.rules import Rule, check_patterns


def cache_dir() -> Path:
    configured = os.environ.get("KEYSWEEP_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("keysweep", appauthor=False))


def cached(name: str, digest: str, build: Callable[[], bytes], suffix: str = ".hsdb") -> bytes:
    """`build()`'s bytes, kept in the cache directory under `name-digest`; rebuilt when unreadable."""
    path = cache_dir() / f"{name}-{digest}{suffix}"
    try:
        return path.read_bytes()
    except OSError:
        pass
    data = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    except OSError:
        pass
    return data


def compiled_database(rules: Sequence[Rule], extras: Sequence[ExtraPattern] = ()) -> bytes | None:
    """The serialised database for `rules` (and `extras`), from the cache or freshly compiled (and
    cached)."""
    if not HAVE_HYPERSCAN or not rules:
        return None

    def build() -> bytes:
        check_patterns(rules)  # rebuilding: prove every pattern compiles (names the file and id)
        return compile_database(rules, extras)

    digest = rules_digest(rules) + (f"-{extras_digest(extras)}" if extras else "")
    return cached("rules", digest, build)


def build_engine(rules: Sequence[Rule]) -> Engine:
    database = compiled_database(rules)
    try:
        return Engine(rules, database)
    except Exception:
        # A cached database from another hyperscan build: compile afresh rather than fail.
        return Engine(rules, compile_database(rules) if database is not None else None)
