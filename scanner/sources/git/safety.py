"""The one way keysweep runs git: nothing from the scanned repository may execute, prompt, fetch or write.

A repository is data an attacker may control: its `.git/config` can name hooks, an fsmonitor
command, filter drivers, a gpg program, an ssh command, an upload-pack command for lazy fetches.
Every git process keysweep starts goes through `Git.argv()`/`git_environment()` below, which

- put `-c` settings on the command line (they override the repository's own configuration and are
  passed on to any git subprocess through GIT_CONFIG_PARAMETERS), see `SAFE_CONFIG`;
- neutralise every filter driver the repository defines (`filter_overrides`): `git status` runs a
  file's clean filter when it compares a stat-dirty file with the index;
- start from an environment without any inherited `GIT_*` variable (GIT_DIR, GIT_EXTERNAL_DIFF,
  GIT_SSH_COMMAND, GIT_CONFIG_PARAMETERS ... could redirect or override all of the above), ignore the
  system and user configuration, forbid prompts, optional index writes and every transport;
- read the real objects (`--no-replace-objects`, no grafts): replace refs could otherwise show us
  harmless content in place of a blob that holds a secret.

What was checked against git 2.39 and deliberately left out: `diff.external=` (an empty value does
not disable the external diff, git then tries to run "" and fails; keysweep never asks for patches,
passes `--no-ext-diff` where a diff is computed, and strips GIT_EXTERNAL_DIFF), and `--filters` /
`--textconv` (never passed to cat-file). GitPython is not used for the same reason: its command
wrapper and object database start git with the caller's environment and the repository's config.

`check_*` refuse arguments that git would read as options (`--upload-pack=...`) and remote URLs,
with a SourceError that says why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from scanner.sources.interface import SourceError

# (key, value, why). Each is meaningful in git 2.39; the comment says which command would otherwise
# run repository-controlled code, prompt or write.
_SAFE_SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("core.hooksPath", "/dev/null", "no hook runs (status can run post-index-change)"),
    ("core.fsmonitor", "false", "status/ls-files would run the configured fsmonitor command"),
    ("core.untrackedCache", "false", "status would write the untracked cache into the index"),
    ("core.sshCommand", "false", "an ssh transport would run this command"),
    ("core.askPass", "", "no askpass program from the repository"),
    ("credential.helper", "", "an empty value resets the list of credential helpers"),
    ("protocol.allow", "never", "no transport at all: a partial clone's lazy fetch fails instead"),
    # protocol.<name>.allow in the repository's config would override protocol.allow
    ("protocol.file.allow", "never", "see protocol.allow"),
    ("protocol.git.allow", "never", "see protocol.allow"),
    ("protocol.ssh.allow", "never", "see protocol.allow"),
    ("protocol.http.allow", "never", "see protocol.allow"),
    ("protocol.https.allow", "never", "see protocol.allow"),
    ("protocol.ext.allow", "never", "ext:: runs an arbitrary command"),
    ("log.showSignature", "false", "log would run gpg.program on signed commits"),
    ("gpg.program", "false", "in case a signature is verified anyway"),
    ("gpg.ssh.program", "false", "see gpg.program"),
    ("gpg.x509.program", "false", "see gpg.program"),
    ("gc.auto", "0", "no automatic gc (it runs hooks and rewrites packs)"),
    ("maintenance.auto", "false", "see gc.auto"),
    ("submodule.recurse", "false", "never descend into submodules implicitly"),
    ("color.ui", "false", "no escape codes in output we parse"),
    ("core.quotePath", "false", "paths printed as they are"),
    ("diff.relative", "false", "diffs relative to the repository root"),
    ("safe.directory", "*", "CI checkouts owned by another user (honoured from -c since 2.35.3)"),
)

SAFE_CONFIG: tuple[tuple[str, str], ...] = tuple((key, value) for key, value, _why in _SAFE_SETTINGS)

# The bulk readers: a fixed memory budget whatever the repository's config says. Reading in pack order
# only needs the bases of the next few objects, and every work unit's process fills its cache (and
# heap) afresh: 16 MB reads a 20,000-commit history with less CPU and 130 MB less peak RSS (two
# workers) than git's default of 96 MB (tests/benchmarks/gen_history.py output, measured).
READER_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.deltaBaseCacheLimit", "16m"),
    ("core.packedGitLimit", "256m"),
    ("core.packedGitWindowSize", "32m"),
)

_FIXED_ENVIRONMENT: Mapping[str, str] = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "true",
    "SSH_ASKPASS": "true",
    "SSH_ASKPASS_REQUIRE": "never",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_GRAFT_FILE": "/dev/null",
    # an allow-list that names no protocol: overrides every protocol.* setting, even the repository's
    "GIT_ALLOW_PROTOCOL": "",
    "GIT_PROTOCOL_FROM_USER": "0",
    "GIT_NO_LAZY_FETCH": "1",  # honoured by git >= 2.44; older ones fail the fetch on protocol.allow
    "GIT_LITERAL_PATHSPECS": "1",
    "LC_ALL": "C",
    "LANGUAGE": "",
}

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[A-Za-z][A-Za-z0-9+.-]*::")
_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?[A-Za-z0-9.-]+:(?!//)")


class GitFailed(SourceError):
    """A git command failed; `stderr` holds what git said."""

    def __init__(self, message: str, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


def git_executable() -> str:
    found = shutil.which("git")
    if found is None:
        raise SourceError(
            "git is not installed (or not on PATH); it is needed to scan a repository's history."
        )
    return found


def git_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any GIT_* variable, plus the fixed safe settings."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    for key in ("EDITOR", "VISUAL", "PAGER"):
        environment.pop(key, None)
    environment.update(_FIXED_ENVIRONMENT)
    if extra:
        environment.update(extra)
    return environment


def config_arguments(settings: Iterable[tuple[str, str]]) -> list[str]:
    arguments: list[str] = []
    for key, value in settings:
        arguments += ["-c", f"{key}={value}"]
    return arguments


def filter_overrides(config: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Empty every filter driver the repository's configuration defines (`filter.<name>.clean` ...).

    An empty clean/smudge/process command disables the driver in git (convert.c), and `required`
    is turned off so that a disabled required filter does not make status die.
    """
    drivers = sorted(
        {
            key[len("filter.") : key.rindex(".")]
            for key in config
            if key.startswith("filter.") and key.count(".") >= 2
        }
    )
    overrides: list[tuple[str, str]] = []
    for driver in drivers:
        for name in ("clean", "smudge", "process"):
            overrides.append((f"filter.{driver}.{name}", ""))
        overrides.append((f"filter.{driver}.required", "false"))
    return tuple(overrides)


@dataclass(frozen=True, slots=True)
class Git:
    """How to run git on one repository, safely. Small and picklable (work units carry one)."""

    git_dir: str
    work_tree: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()

    def argv(self, *arguments: str, config: Sequence[tuple[str, str]] = ()) -> list[str]:
        argv = [git_executable(), "--no-pager", "--no-replace-objects", f"--git-dir={self.git_dir}"]
        if self.work_tree is not None:
            argv.append(f"--work-tree={self.work_tree}")
        argv += config_arguments((*SAFE_CONFIG, *self.overrides, *config))
        argv += arguments
        return argv

    @property
    def cwd(self) -> str:
        return self.work_tree or self.git_dir

    def popen(
        self,
        *arguments: str,
        stdin: int | IO[bytes] | None = subprocess.DEVNULL,
        stdout: int | IO[bytes] | None = subprocess.PIPE,
        stderr: int | IO[bytes] | None = subprocess.PIPE,
        config: Sequence[tuple[str, str]] = (),
        bufsize: int = -1,
    ) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                self.argv(*arguments, config=config),
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                cwd=self.cwd,
                env=git_environment(),
                bufsize=bufsize,
            )
        except OSError as exc:
            raise SourceError(f"could not start git in {self.cwd}: {exc.strerror or exc}.") from exc

    def run(
        self,
        *arguments: str,
        input: bytes | None = None,
        what: str = "git",
        config: Sequence[tuple[str, str]] = (),
        ok_codes: tuple[int, ...] = (0,),
    ) -> bytes:
        """Run to completion and return stdout; a failure raises GitFailed naming `what` was attempted."""
        return run_git(
            self.argv(*arguments, config=config), self.cwd, input=input, what=what, ok_codes=ok_codes
        )


def run_git(
    argv: list[str],
    cwd: str,
    *,
    input: bytes | None = None,
    what: str = "git",
    ok_codes: tuple[int, ...] = (0,),
    environment: Mapping[str, str] | None = None,
) -> bytes:
    """Run a git command line built by `Git.argv` (or `discovery_argv`) and return its stdout."""
    try:
        done = subprocess.run(
            argv,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            cwd=cwd,
            env=git_environment(environment),
            check=False,
        )
    except OSError as exc:
        raise SourceError(f"could not start git in {cwd}: {exc.strerror or exc}.") from exc
    if done.returncode not in ok_codes:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        reason = first_line(stderr) or f"git exited with {done.returncode}"
        raise GitFailed(f"{what} failed: {reason}.", stderr, done.returncode)
    return done.stdout


def discovery_argv(directory: str, *arguments: str) -> list[str]:
    """`git -C directory ...` with the safe settings, for finding out whether a directory is a repository."""
    return [
        git_executable(),
        "--no-pager",
        "--no-replace-objects",
        "-C",
        directory,
        *config_arguments(SAFE_CONFIG),
        *arguments,
    ]


def first_line(text: str) -> str:
    """What git complained about, in one line: its `fatal:` line with the first `error:` line that
    came before it (often the object at fault), else the first line."""
    lines = [line.strip().rstrip(".") for line in text.splitlines() if line.strip()]
    fatal = next((line for line in lines if line.startswith("fatal:")), None)
    error = next((line for line in lines if line.startswith("error:")), None)
    if fatal and error:
        return f"{fatal} ({error})"
    return fatal or error or (lines[0] if lines else "")


def check_not_option(value: str, what: str) -> str:
    """Refuse a value git could read as an option (`--upload-pack=touch x`, `-x`) or that is empty."""
    if not value or not value.strip():
        raise SourceError(f"the {what} is empty.")
    if value.startswith("-"):
        raise SourceError(
            f"refusing the {what} {value!r}: it starts with '-' and git would read it as an option."
        )
    if any(character in value for character in "\0\n\r"):
        raise SourceError(f"refusing the {what} {value!r}: it contains a control character.")
    return value


def check_revision(value: str) -> str:
    """A revision keysweep passes to git (`main`, `v1.2`, a sha). Always followed by --end-of-options too."""
    return check_not_option(value, "revision")


def check_local_path(value: str | os.PathLike[str]) -> Path:
    """The repository the user named must be a local directory, never an option or a URL."""
    text = os.fspath(value)
    check_not_option(text, "repository path")
    path = Path(text)
    if path.exists():
        return path
    if _URL.match(text) or _SCP_LIKE.match(text):
        raise SourceError(
            f"{text!r} looks like a remote URL; keysweep scans local repositories: clone it first "
            "(git clone --mirror URL) and scan the clone."
        )
    raise SourceError(f"{text} does not exist.")
