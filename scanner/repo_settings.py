"""Where a scan's configuration comes from, and why a pull request cannot silence its own leak.

The in-repository settings are `.keysweep.toml`, `.gitleaks.toml`, `.gitleaksignore` and the baseline
file. They are read

- from `--config FILE` when given (the CI author's choice: trusted; gitleaks files and the baseline are
  still read from the repository as below);
- not at all with `--no-repo-config` (a sweep of repositories we do not trust);
- in `--range A..B` / `--since A` mode, from the base commit A (`git cat-file blob A:.keysweep.toml`
  through `safety.Git`), never from the head: a pull request that adds an allowlist entry or a
  baseline entry for its own leak still fails. Each of these files that the range changes is reported
  (a note and a `config-changed` entry in every format) and the change does not take effect;
- otherwise from the scanned directory (the working tree).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from scanner.baseline import Baseline, BaselineError
from scanner.baseline import loads as load_baseline
from scanner.config import CONFIG_NAME, Config, ConfigError, config_from_text, load_config
from scanner.gitleaks_import import (
    GITLEAKS_CONFIG,
    GITLEAKS_IGNORE,
    GitleaksImportError,
    GitleaksSettings,
    parse_gitleaks_config,
    parse_gitleaksignore,
)
from scanner.model import Location, Skipped, SkipReason, SourceKind
from scanner.policy import Policy

# The settings files a repository may hold (the baseline's path is in .keysweep.toml).
SETTINGS_FILES = (CONFIG_NAME, GITLEAKS_CONFIG, GITLEAKS_IGNORE)


class SettingsError(Exception):
    """The in-repository settings cannot be used. The message names the file."""


class TreeReader(Protocol):
    label: str

    def read(self, name: str) -> str | None: ...


@dataclass
class DirectoryReader:
    root: Path
    label: str = ""

    def read(self, name: str) -> str | None:
        path = self.root / name
        if not path.is_file():
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: cannot be read: {exc}.") from None


@dataclass
class CommitReader:
    """Files of one commit, read through safety.Git (no filter or textconv runs).

    `known`: files already read (name -> bytes, None when absent). A name not known is read with
    the `batch` names not known either, in one `git cat-file --batch`.
    """

    repository: Any  # scanner.sources.git.repository.Repository
    commit: str
    label: str = ""
    batch: tuple[str, ...] = ()
    known: dict[str, bytes | None] = field(default_factory=dict, repr=False)

    def read(self, name: str) -> str | None:
        if name not in self.known:
            wanted = [name, *(n for n in self.batch if n != name and n not in self.known)]
            self.known.update(self._fetch(wanted))
        data = self.known[name]
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise SettingsError(f"{name} at {self.commit[:12]} is not UTF-8 text.") from None

    def _fetch(self, names: list[str]) -> dict[str, bytes | None]:
        """name -> the blob's bytes, or None where the commit has no such file (or not a file)."""
        from scanner.sources.git.safety import GitFailed

        try:
            answers = cat_file_batch(self.repository, [f"{self.commit}:{name}" for name in names])
        except (GitFailed, ValueError):
            return {name: self._fetch_one(name) for name in names}
        return {name: _blob(answer) for name, answer in zip(names, answers, strict=True)}

    def _fetch_one(self, name: str) -> bytes | None:
        from scanner.sources.git.safety import GitFailed

        try:
            data: bytes = self.repository.git.run(
                "cat-file", "blob", f"{self.commit}:{name}", what=f"reading {name}"
            )
        except GitFailed:
            return None
        return data


Answer = tuple[str, str, bytes] | None  # (object name, type, content), None: no such object


def cat_file_batch(repository: Any, objects: list[str]) -> list[Answer]:
    """One `git cat-file --batch` for `objects` (revisions, `commit:path`...), in order. Raises
    ValueError for a name it cannot pass on a line (or an answer it cannot parse), GitFailed."""
    if any(c in name for name in objects for c in "\n\r\0"):
        raise ValueError("an object name holds a line break")
    request = "".join(f"{name}\n" for name in objects).encode()
    out: bytes = repository.git.run("cat-file", "--batch", input=request, what="reading objects")
    answers: list[Answer] = []
    position = 0
    for _name in objects:
        end = out.index(b"\n", position)
        line = out[position:end]
        header = line.split(b" ")
        position = end + 1
        if header[-1] in (b"missing", b"ambiguous"):
            answers.append(None)
            continue
        if len(header) != 3 or not header[2].isdigit():
            raise ValueError(f"unexpected git cat-file --batch header {line!r}")
        size = int(header[2])
        if len(out) < position + size + 1:
            raise ValueError("git cat-file --batch output is cut short")
        oid, kind = header[0].decode("ascii"), header[1].decode("ascii")
        answers.append((oid, kind, out[position : position + size]))
        position += size + 1
    return answers


def _blob(answer: Answer) -> bytes | None:
    """A file's bytes; None when absent or not a file (a directory of that name, a submodule)."""
    return answer[2] if answer is not None and answer[1] == "blob" else None


@dataclass(frozen=True)
class RepoSettings:
    config: Config = field(default_factory=Config)
    gitleaks: GitleaksSettings = field(default_factory=GitleaksSettings)
    baseline: Baseline | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[Skipped, ...] = ()
    range_base: RangeBase | None = None  # in --range/--since mode: the repository and both commits


@dataclass(frozen=True)
class RangeBase:
    """A range scan's repository, its resolved base and head commits, and the settings files read at
    the base commit while resolving it (name -> bytes, None when absent)."""

    repository: Any
    base: str
    head: str
    files: Mapping[str, bytes | None] = field(default_factory=dict)


def resolve_range(
    target: Path, range_text: str | None, since: str | None, read: Sequence[str] = ()
) -> RangeBase:
    """Resolve the range and read the files `read` at its base commit: one git process for both
    (a CI step pays ~3 ms per git process it starts). A revision git does not know, or one this
    cannot pass on a line, is resolved alone (`resolve_commit`, which says what is wrong)."""
    from scanner.sources.git.objects import RangeSpec, resolve_commit
    from scanner.sources.git.repository import discover
    from scanner.sources.git.safety import GitFailed

    spec = RangeSpec.parse(range_text) if range_text is not None else RangeSpec.since(str(since))
    repository = discover(target)
    commits = [f"{spec.exclude}^{{commit}}", f"{spec.include}^{{commit}}"]
    if ":" not in spec.exclude:  # `A:path` would name a file of A, not A's commit
        try:
            answers = cat_file_batch(repository, [*commits, *(f"{commits[0]}:{name}" for name in read)])
        except (GitFailed, ValueError):
            answers = []
        if len(answers) >= 2 and all(a is not None and a[1] == "commit" for a in answers[:2]):
            base, head = (answer[0] for answer in answers[:2] if answer is not None)
            files = {name: _blob(answer) for name, answer in zip(read, answers[2:], strict=True)}
            return RangeBase(repository, base, head, files)
    base = resolve_commit(repository, spec.exclude, f"the range {spec.text!r}")
    head = resolve_commit(repository, spec.include, f"the range {spec.text!r}")
    return RangeBase(repository, base, head)


def load_settings(
    *,
    explicit_config: Path | None,
    no_repo_config: bool,
    roots: tuple[Path, ...],
    baseline_path: Path | None,
    known_rules: frozenset[str],
    range_base: RangeBase | None = None,
) -> RepoSettings:
    notes: list[str] = []
    reader: TreeReader | None = None
    if range_base is not None:
        reader = CommitReader(
            range_base.repository,
            range_base.base,
            f"base commit {range_base.base[:12]}",
            batch=() if no_repo_config else SETTINGS_FILES,
            known=dict(range_base.files),
        )
    elif roots and roots[0].is_dir():
        reader = DirectoryReader(roots[0], str(roots[0]))
    try:
        if explicit_config is not None or no_repo_config or reader is None:
            config = load_config(explicit_config, ()) if explicit_config else Config()
            if no_repo_config:
                notes.append("--no-repo-config: the repository's own configuration files were not read.")
        elif isinstance(reader, CommitReader):
            text = reader.read(CONFIG_NAME)
            config = Config() if text is None else config_from_text(text, f"{CONFIG_NAME} ({reader.label})")
        else:
            config = load_config(None, roots)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None
    gitleaks = GitleaksSettings()
    if reader is not None and not no_repo_config and config.gitleaks:
        gitleaks = _gitleaks(reader, known_rules | {r.id for r in config.custom_rules})
        if not gitleaks.empty:
            policy = Policy(
                config.policy.allowlists + gitleaks.allowlists, config.policy.allowed_fingerprints
            )
            config = replace(config, policy=policy)
        notes.extend(gitleaks.notes)
    baseline, baseline_name = _baseline(
        baseline_path, config, reader, roots, range_base, no_repo_config, notes
    )
    warnings: list[Skipped] = []
    if range_base is not None and not no_repo_config:
        watched = [CONFIG_NAME, GITLEAKS_CONFIG, GITLEAKS_IGNORE]
        if baseline_name:
            watched.append(baseline_name)
        for path in changed_paths(range_base, watched):
            detail = (
                f"{path} is changed by the scanned commits; keysweep read it from the base commit "
                f"{range_base.base[:12]} and the change does not take effect in this scan (review it)."
            )
            notes.append(f"config-changed: {detail}")
            location = Location(SourceKind.GIT, range_base.repository.origin, path, commit=range_base.head)
            warnings.append(Skipped(location, SkipReason.CONFIG_CHANGED, detail))
    return RepoSettings(config, gitleaks, baseline, tuple(notes), tuple(warnings), range_base)


def _gitleaks(reader: TreeReader, known: frozenset[str]) -> GitleaksSettings:
    settings = GitleaksSettings()
    try:
        text = reader.read(GITLEAKS_CONFIG)
        if text is not None:
            settings = parse_gitleaks_config(text, GITLEAKS_CONFIG, known)
            imported = len(settings.allowlists) + len(settings.commits)
            settings = replace(
                settings,
                notes=(
                    *settings.notes,
                    f"gitleaks: imported {imported} allowlist entr"
                    f"{'y' if imported == 1 else 'ies'} from {GITLEAKS_CONFIG}.",
                ),
            )
        ignore = reader.read(GITLEAKS_IGNORE)
        if ignore is not None:
            entries, notes = parse_gitleaksignore(ignore, GITLEAKS_IGNORE, known)
            notes.append(f"gitleaks: mapped {len(entries)} {GITLEAKS_IGNORE} line(s) to path + rule.")
            settings = replace(settings, ignores=tuple(entries), notes=(*settings.notes, *notes))
    except GitleaksImportError as exc:
        raise SettingsError(str(exc)) from None
    return settings


def _baseline(
    explicit: Path | None,
    config: Config,
    reader: TreeReader | None,
    roots: tuple[Path, ...],
    range_base: RangeBase | None,
    no_repo_config: bool,
    notes: list[str],
) -> tuple[Baseline | None, str | None]:
    """The baseline and its path inside the repository (if it is in the repository)."""
    if explicit is None and (config.baseline is None or no_repo_config):
        return None, None
    root = (
        Path(str(range_base.repository.work_tree))
        if range_base is not None and range_base.repository.work_tree
        else (roots[0] if roots and roots[0].is_dir() else None)
    )
    if explicit is not None:
        inside = _inside(explicit, root) if root is not None else None
    else:
        inside = str(config.baseline)
    try:
        if range_base is not None and inside is not None and isinstance(reader, CommitReader):
            text = reader.read(inside)
            if text is None:
                notes.append(
                    f"baseline: {inside} does not exist at the base commit; no finding is baselined."
                )
                return None, inside
            return load_baseline(text, f"{inside} ({reader.label})"), inside
        path = explicit if explicit is not None else (root or Path(".")) / inside  # type: ignore[operator]
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if explicit is not None:
                raise SettingsError(
                    f"{path}: no such baseline file (create it with `keysweep baseline create`)."
                ) from None
            notes.append(f"baseline: {path} does not exist; no finding is baselined.")
            return None, inside
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: cannot read the baseline: {exc}.") from None
        return load_baseline(text, str(path)), inside
    except BaselineError as exc:
        raise SettingsError(str(exc)) from None


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def changed_paths(range_base: RangeBase, paths: list[str]) -> list[str]:
    """Which of `paths` any commit of the range touched (added, changed or deleted)."""
    out = range_base.repository.git.run(
        "log",
        "--format=",
        "--name-only",
        "-z",
        "--no-renames",
        "--no-ext-diff",
        "--no-textconv",
        "--end-of-options",
        range_base.head,
        f"^{range_base.base}",
        "--",
        *paths,
        what="listing configuration changes in the range",
    )
    touched = {p.strip("\n") for p in out.decode("utf-8", "replace").split("\0") if p.strip("\n")}
    return [p for p in paths if p in touched]
