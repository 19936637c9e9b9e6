"""Finding the repository the user named: working tree, bare repository or mirror; its refs and submodules.

Discovery looks at the named directory only (GIT_CEILING_DIRECTORIES is its parent): a subdirectory
of a checkout is not taken for the whole repository, it is scanned as plain files by the caller.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scanner.sources.git.safety import (
    Git,
    GitFailed,
    check_local_path,
    discovery_argv,
    filter_overrides,
    run_git,
)
from scanner.sources.interface import SourceError

MAX_SUBMODULE_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Repository:
    """One git repository to scan.

    `origin` is the repository as the user named it (for a submodule: the superproject's origin
    joined with the submodule's path); `git_dir` and `work_tree` are absolute. `work_tree` is None
    for bare repositories and mirrors.
    """

    origin: str
    git_dir: str
    work_tree: str | None
    shallow: bool
    partial: bool
    git: Git
    common_dir: str = ""  # the git dir shared by linked worktrees (objects, refs); git_dir otherwise

    @property
    def bare(self) -> bool:
        return self.work_tree is None

    @property
    def key(self) -> str:
        return repository_key(self)


@dataclass(frozen=True, slots=True)
class Ref:
    name: str  # refs/heads/main, refs/tags/v1, refs/notes/commits, refs/stash, refs/remotes/origin/x, HEAD
    oid: str
    kind: str  # the type of the object it points at: commit, tag, tree, blob


def repository_key(repository: Repository) -> str:
    """A stable identifier for the incremental-scan record: the real path of the (common) git directory.

    Moving or re-cloning a repository starts a new record (a full scan); two names for the same
    repository (symlinks, `repo` and `repo/.git`, linked worktrees) share one.
    """
    real = os.path.realpath(repository.common_dir or repository.git_dir)
    return "git:" + hashlib.sha256(os.fsencode(real)).hexdigest()[:32]


def discover(path: str | os.PathLike[str], origin: str | None = None) -> Repository:
    """The repository at `path` (its top directory, its .git directory, or a bare repository).

    Raises SourceError with a sentence when `path` is not one.
    """
    checked = check_local_path(path)
    origin = origin if origin is not None else os.fspath(path)
    absolute = os.path.abspath(checked)
    if not os.path.isdir(absolute):
        raise SourceError(f"{origin} is not a git repository (it is not a directory).")
    ceiling = (
        {"GIT_CEILING_DIRECTORIES": os.path.dirname(absolute)}
        if os.path.dirname(absolute) != absolute
        else {}
    )
    try:
        out = run_git(
            discovery_argv(
                absolute,
                "rev-parse",
                "--absolute-git-dir",
                "--is-bare-repository",
                "--is-inside-git-dir",
                "--is-shallow-repository",
                "--git-common-dir",
            ),
            absolute,
            what="finding the repository",
            environment=ceiling,
        )
    except GitFailed as exc:
        said = exc.stderr.splitlines()[0] if exc.stderr else str(exc)
        raise SourceError(f"{origin} is not a git repository (or not the top of one): {said}") from None
    lines = os.fsdecode(out).splitlines()
    if len(lines) < 5:
        raise SourceError(f"{origin}: git rev-parse gave an unexpected answer ({out!r}).")
    git_dir, bare, inside_git_dir, shallow = (
        lines[0],
        lines[1] == "true",
        lines[2] == "true",
        lines[3] == "true",
    )
    common_dir = os.path.realpath(os.path.join(absolute, lines[4]))  # relative to `absolute` when relative
    work_tree: str | None = None
    if not bare and not inside_git_dir:
        try:
            top = run_git(
                discovery_argv(absolute, "rev-parse", "--show-toplevel"), absolute, environment=ceiling
            )
            work_tree = os.fsdecode(top).rstrip("\n") or None
        except GitFailed:
            work_tree = None  # a submodule's git dir whose checkout was removed
    base = Git(git_dir=git_dir, work_tree=work_tree)
    config = read_config(base)
    partial = "extensions.partialclone" in config or any(
        key.startswith("remote.")
        and key.endswith(".promisor")
        and value.lower() in ("true", "1", "yes", "on", "")
        for key, value in config.items()
    )
    git = Git(git_dir=git_dir, work_tree=work_tree, overrides=filter_overrides(config))
    return Repository(origin, git_dir, work_tree, shallow, partial, git, common_dir)


def read_config(git: Git) -> dict[str, str]:
    """The repository's configuration (local, includes, command line: system and global are off)."""
    out = git.run("config", "-z", "--list", what="reading the repository's configuration", ok_codes=(0, 1))
    config: dict[str, str] = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        key, _, value = entry.partition(b"\n")
        config[os.fsdecode(key)] = os.fsdecode(value)
    return config


def list_refs(repository: Repository) -> list[Ref]:
    """Every ref: branches, tags, notes, stash, remote-tracking refs, replace refs, and HEAD."""
    out = repository.git.run(
        "for-each-ref", "--format=%(objectname) %(objecttype) %(refname)", what="listing the refs"
    )
    refs = []
    for line in os.fsdecode(out).splitlines():
        oid, kind, name = line.split(" ", 2)
        refs.append(Ref(name, oid, kind))
    head = head_commit(repository)
    if head is not None:
        refs.append(Ref("HEAD", head, "commit"))
    return refs


def head_commit(repository: Repository) -> str | None:
    """The commit HEAD points at, or None for an unborn branch."""
    try:
        out = repository.git.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", ok_codes=(0,))
    except GitFailed:
        return None
    return out.decode().strip() or None


def shallow_boundary(repository: Repository) -> list[str]:
    """The commits whose parents a shallow clone does not have (from `$GIT_DIR/shallow`)."""
    try:
        text = Path(repository.git_dir, "shallow").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def find_submodules(repository: Repository, depth: int = 0, seen: set[str] | None = None) -> list[Repository]:
    """Submodule repositories present locally, recursively: every git directory under
    `$GIT_DIR/modules` (absorbed submodules, including ones no longer checked out) and checked-out
    submodules with their own `.git` directory. Each is its own Repository whose origin names it."""
    seen = seen if seen is not None else {os.path.realpath(repository.git_dir)}
    if depth >= MAX_SUBMODULE_DEPTH:
        return []
    found: list[Repository] = []
    candidates = list(_module_git_dirs(Path(repository.git_dir, "modules")))
    candidates += list(_embedded_git_dirs(repository))
    for candidate in candidates:
        try:
            sub = discover(candidate, origin="(submodule)")
        except SourceError:
            continue
        real = os.path.realpath(sub.git_dir)
        if real in seen:
            continue
        seen.add(real)
        sub = _named(repository, sub, candidate)
        found.append(sub)
        found += find_submodules(sub, depth + 1, seen)
    return found


def _named(superproject: Repository, sub: Repository, candidate: str) -> Repository:
    """Name a submodule after where it is checked out, else after its git directory."""
    top = superproject.work_tree or superproject.git_dir
    where = sub.work_tree if sub.work_tree and _inside(sub.work_tree, top) else candidate
    relative = os.path.relpath(where, top)
    origin = (
        os.path.join(superproject.origin, relative)
        if not superproject.origin.endswith("/")
        else (superproject.origin + relative)
    )
    return dataclasses.replace(sub, origin=origin)


def _inside(path: str, top: str) -> bool:
    path, top = os.path.realpath(path), os.path.realpath(top)
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def _looks_like_git_dir(path: Path) -> bool:
    try:
        return (path / "HEAD").is_file() and (path / "objects").is_dir()
    except OSError:
        return False


def _module_git_dirs(modules: Path) -> Iterator[str]:
    """Git directories below `modules/` (submodule names may contain '/'; nested submodules live in
    each one's own `modules/` and are found when that submodule is searched)."""
    if not modules.is_dir():
        return
    stack = [modules]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            path = Path(entry.path)
            if _looks_like_git_dir(path):
                yield entry.path
            else:
                stack.append(path)


def _embedded_git_dirs(repository: Repository) -> Iterator[str]:
    """Checked-out submodules (gitlinks in the index) whose `.git` is a directory of their own."""
    if repository.work_tree is None:
        return
    try:
        out = repository.git.run("ls-files", "-s", "-z", what="listing the index")
    except GitFailed:
        return
    for entry in out.split(b"\0"):
        if not entry.startswith(b"160000 "):
            continue
        _meta, _, name = entry.partition(b"\t")
        checkout = os.path.join(repository.work_tree, os.fsdecode(name))
        try:
            if stat.S_ISDIR(os.lstat(os.path.join(checkout, ".git")).st_mode):
                yield checkout
        except OSError:
            continue
