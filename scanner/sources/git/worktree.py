"""Uncommitted files of a working tree, for the file source to scan as plain files.

`git status` (with the safety settings: no fsmonitor, no hooks, every filter driver emptied, no index
write) lists what differs from HEAD or the index and what is untracked; deleted files are left out.
Ignored files are only listed on request (`.env` files are usually ignored on purpose).
"""

from __future__ import annotations

import os
from pathlib import Path

from scanner.sources.git.repository import Repository


def working_tree_changes(repository: Repository, *, include_ignored: bool = False) -> list[Path]:
    """Absolute paths of modified, added and untracked files (not directories, not deleted ones)."""
    if repository.work_tree is None:
        return []
    arguments = [
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--ignore-submodules=all",
        "--no-renames",
    ]
    if include_ignored:
        arguments.append("--ignored=traditional")
    out = repository.git.run(*arguments, what="listing the working tree's changes")
    paths: set[Path] = set()
    for entry in out.split(b"\0"):
        if len(entry) < 4:
            continue
        status, name = entry[:2], entry[3:]
        if status == b"!!" and not include_ignored:
            continue
        path = Path(repository.work_tree, os.fsdecode(name))
        try:
            if path.is_symlink() or path.is_file():
                paths.add(path)
        except OSError:
            continue
    return sorted(paths)
