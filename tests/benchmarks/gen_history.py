"""Generate a large, deterministic git history with planted secrets, for recall and speed benchmarks.

    python tests/benchmarks/gen_history.py OUT_DIR [--commits 20000] [--files 3000] [--blob-kb 48]
                                                   [--files-per-commit 3] [--secrets 48] [--huge 2]
                                                   [--seed 1] [--checkout]

Builds OUT_DIR as a repository (bare unless --checkout) with `git fast-import`, and writes
OUT_DIR.manifest.json listing every planted secret: its kind and value(s), the commit that introduced
it, its path and line, where it is reachable from (branch, tag, note, nothing: dangling) and whether
it is still at HEAD. Same arguments, same repository: commit ids included.

The history: a main branch with feature branches merged back (real merge commits), release tags,
a few unmerged side branches, notes; files of several kinds (Python, YAML, JSON, Markdown, JS, INI)
that grow and change a few lines per commit, plus a few huge generated files. At the default size
that is about 20,000 commits and 3 GB of blob versions (most of it stored as deltas, as git does).

How blobs are written: every version of one file is emitted consecutively before any commit, so
fast-import stores each version as a delta against the previous one (a realistic pack: reading it
costs delta resolution like a real repository), then the commits refer to the blobs by mark.

Secrets are planted: in files added then deleted later, in lines added then removed from a busy
file (present in many blob versions), still at HEAD, on unmerged side branches, only under a tag,
in dangling commits (their ref is deleted after the import; the objects stay), and in a note.
They are made up here, with random bytes from the seeded generator; none is a real credential.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import string
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BASE_TIME = 1_600_000_000
KINDS = ("py", "yaml", "json", "md", "js", "ini")
_WORD_TEXT = """
account address agent alpha archive array asset audit backend batch bucket buffer build cache client cluster
config connect context counter cursor daemon data deploy device digest domain driver engine entry event export
factory feature filter format frame gateway handler header index input invoice job kernel label layer ledger
limit loader logger manager mapper message metric module monitor network node order output package parser
payload pipeline policy pool process profile queue record region registry release report request resource
result route runner sample schema scope session shard signal source stage status storage stream subnet table
target task tenant thread token topic tracker transform user value vault version volume worker zone
"""
WORDS = tuple(_WORD_TEXT.split())
FIRST = ("Ada", "Alan", "Barbara", "Claude", "Dennis", "Edsger", "Frances", "Grace", "Guido", "Hedy", "Ken")
LAST = (
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Ritchie",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Rossum",
    "Lamarr",
)
BASE62 = string.digits + string.ascii_letters
AWS_ID_ALPHABET = string.ascii_uppercase + "234567"
AWS_SECRET_ALPHABET = string.ascii_letters + string.digits + "/+"
SUPPRESSED_WORDS = (
    "example",
    "placeholder",
    "changeme",
    "dummy",
    "redacted",
    "xxxxxx",
    "0123456789",
    "abcdef",
)


# --- secrets --------------------------------------------------------------------------------------


def _clean(value: str) -> bool:
    lowered = value.lower()
    return not any(word in lowered for word in SUPPRESSED_WORDS)


def aws_pair(rng: random.Random) -> tuple[str, str]:
    while True:
        key_id = "AKIA" + "".join(rng.choice(AWS_ID_ALPHABET) for _ in range(16))
        secret = "".join(rng.choice(AWS_SECRET_ALPHABET) for _ in range(40))
        if _clean(key_id) and _clean(secret):
            return key_id, secret


def github_token(rng: random.Random) -> str:
    """ghp_ + 30 random base62 characters + 6 characters of base62 CRC32 checksum (GitHub's format)."""
    while True:
        body = "".join(rng.choice(BASE62) for _ in range(30))
        checksum = zlib.crc32(body.encode())
        digits = ""
        for _ in range(6):
            checksum, remainder = divmod(checksum, 62)
            digits = BASE62[remainder] + digits
        token = f"ghp_{body}{digits}"
        if _clean(token):
            return token


def private_key(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "+/"
    lines = ["".join(rng.choice(alphabet) for _ in range(64)) for _ in range(25)]
    return "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"


@dataclass
class Secret:
    ident: str
    kind: str  # aws | github | private-key
    placement: str
    values: dict[str, str]
    block: list[str]  # the lines planted
    path: str = ""
    line: int = 0
    introduced_mark: int = 0
    removed_mark: int | None = None
    ref: str | None = None  # what keeps it reachable; None: dangling
    at_head: bool = False
    blobs: set[bytes] = field(default_factory=set)  # distinct blob contents holding it


def make_secret(rng: random.Random, ident: str, kind: str, placement: str, style: str) -> Secret:
    if kind == "aws":
        key_id, secret = aws_pair(rng)
        if style == "ini":
            block = ["[deploy]", f"aws_access_key_id = {key_id}", f"aws_secret_access_key = {secret}"]
        elif style == "py":
            block = [f'AWS_ACCESS_KEY_ID = "{key_id}"', f'AWS_SECRET_ACCESS_KEY = "{secret}"']
        else:
            block = [f"aws_access_key_id: {key_id}", f"aws_secret_access_key: {secret}"]
        return Secret(ident, kind, placement, {"key_id": key_id, "secret": secret}, block)
    if kind == "github":
        token = github_token(rng)
        line = f'GITHUB_TOKEN = "{token}"' if style == "py" else f"github_token: {token}"
        return Secret(ident, kind, placement, {"token": token}, [line])
    key = private_key(rng)
    return Secret(ident, kind, placement, {"key": key}, key.splitlines())


# --- content --------------------------------------------------------------------------------------


def ident(rng: random.Random) -> str:
    return "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))


def make_line(rng: random.Random, kind: str) -> str:
    r = rng.random()
    a, b = ident(rng), ident(rng)
    if kind == "py":
        if r < 0.2:
            return f"def {a}({b}, {rng.choice(WORDS)}=None):"
        if r < 0.4:
            return f"    {a} = {b}.{rng.choice(WORDS)}({rng.randint(0, 999)})"
        if r < 0.5:
            return f"    # {rng.choice(WORDS)} the {b} before {rng.choice(WORDS)}"
        if r < 0.6:
            return f"from {rng.choice(WORDS)}.{a} import {b}"
        return f"        return {a}[{rng.randint(0, 64)}] + {b}"
    if kind == "yaml":
        indent = "  " * rng.randint(0, 3)
        if r < 0.3:
            return f"{indent}{a}:"
        if r < 0.5:
            return f"{indent}- {b}-{rng.randint(1, 99)}"
        return f"{indent}{a}: {rng.choice([b, str(rng.randint(0, 10**6)), 'true', 'false'])}"
    if kind == "json":
        if r < 0.2:
            return f'  "{a}": "{rng.getrandbits(160):040x}",'
        return (
            f'  "{a}": {rng.choice([repr(b).replace(chr(39), chr(34)), str(rng.randint(0, 10**5)), "null"])},'
        )
    if kind == "md":
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))).capitalize() + "."
    if kind == "js":
        if r < 0.3:
            return f"const {a} = require('./{b}');"
        if r < 0.6:
            return f"  {a}.{rng.choice(WORDS)}({b}, {rng.randint(0, 99)});"
        return f"function {a}({b}) {{ return {b}.{rng.choice(WORDS)}; }}"
    return f"{a.upper()}={b}-{rng.randint(0, 9999)}"


class FileModel:
    """One file's content, evolved version by version with its own seeded generator."""

    def __init__(self, path: str, kind: str, target: int, rng: random.Random, huge: bool = False) -> None:
        self.path, self.kind, self.rng, self.huge = path, kind, rng, huge
        self.planted: set[str] = set()
        if huge:  # a minified bundle: long lines
            chunk = "".join(make_line(rng, "js") for _ in range(400))
            self.lines = [chunk[i : i + 4000] for i in range(0, len(chunk), 4000)] * (
                target // len(chunk) + 1
            )
            return
        pool = [make_line(rng, kind) for _ in range(200)]
        self.lines = []
        size = 0
        while size < target:
            line = rng.choice(pool) if rng.random() < 0.6 else make_line(rng, kind)
            self.lines.append(line)
            size += len(line) + 1

    def edit(self) -> None:
        """Change a few lines; a planted secret is one element of `lines`, kept whole and in place."""
        rng = self.rng
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(self.lines) + 1)
            roll = rng.random()
            protected = position < len(self.lines) and self.lines[position] in self.planted
            if roll < 0.45 and position < len(self.lines):
                if not protected:
                    self.lines[position] = make_line(rng, "js" if self.huge else self.kind)
            elif roll < 0.85 or len(self.lines) < 10:
                self.lines[position:position] = [make_line(rng, self.kind) for _ in range(rng.randint(1, 4))]
            elif not any(line in self.planted for line in self.lines[position : position + 3]):
                del self.lines[position : position + rng.randint(1, 3)]

    def plant(self, block: list[str]) -> int:
        """Insert a secret's lines; returns the line number of its first line."""
        position = self.rng.randrange(len(self.lines) + 1)
        element = "\n".join(block)
        self.planted.add(element)
        self.lines.insert(position, element)
        return 1 + sum(line.count("\n") + 1 for line in self.lines[:position])

    def unplant(self, block: list[str]) -> None:
        element = "\n".join(block)
        if element in self.lines:
            self.lines.remove(element)
        self.planted.discard(element)

    def data(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode()


# --- the plan ---------------------------------------------------------------------------------------


@dataclass
class Event:
    commit: int  # index into Plan.commits
    action: str  # create | edit | plant | unplant | delete
    secret: Secret | None = None
    mark: int = 0


@dataclass
class PlannedFile:
    path: str
    kind: str
    target: int
    huge: bool = False
    events: list[Event] = field(default_factory=list)


@dataclass
class Commit:
    mark: int
    ref: str
    parents: list[int]  # marks
    time: int
    author: str
    message: str
    changes: list[tuple[str, PlannedFile]] = field(default_factory=list)  # (M|D, file)
    merged_files: list[PlannedFile] = field(default_factory=list)


class Planner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(f"{args.seed}/plan")
        self.next_mark = 1
        self.commits: list[Commit] = []
        self.files: list[PlannedFile] = []
        self.live: list[PlannedFile] = []  # files present on main
        self.branch_held: set[str] = set()  # files an open feature branch changes: main leaves them alone
        self.reserved: set[str] = set()  # files holding a planted secret: feature branches leave them alone
        self.secrets: list[Secret] = []
        self.tags: list[tuple[str, int, str]] = []  # (name, commit mark, message)
        self.temporary_refs: list[str] = []
        self.notes: list[tuple[int, Secret]] = []
        self.removals: list[tuple[int, PlannedFile, Secret]] = []  # (due commit index, file, secret)
        self.clock = BASE_TIME
        self.authors = [f"{first} {last}" for first in FIRST for last in LAST]

    def mark(self) -> int:
        self.next_mark += 1
        return self.next_mark - 1

    def new_commit(self, ref: str, parents: list[int], message: str) -> Commit:
        self.clock += self.rng.randint(30, 7200)
        commit = Commit(self.mark(), ref, parents, self.clock, self.rng.choice(self.authors), message)
        self.commits.append(commit)
        return commit

    def new_file(self, path: str, kind: str, target: int, huge: bool = False) -> PlannedFile:
        planned = PlannedFile(path, kind, target, huge)
        self.files.append(planned)
        return planned

    def change(self, commit: Commit, planned: PlannedFile, action: str, secret: Secret | None = None) -> None:
        """Record that `commit` (the latest one) changes `planned`; two changes in one commit merge."""
        index = len(self.commits) - 1
        assert self.commits[index] is commit
        if planned.events and planned.events[-1].commit == index:
            last = planned.events[-1]
            if action == "delete":
                planned.events.pop()
                commit.changes.remove(("M", planned))
            elif action in ("plant", "unplant"):
                if last.secret is not None and last.action in ("plant", "unplant", "create"):
                    return  # one secret change per file and commit; the plan skips this one
                last.action, last.secret = (action if last.action != "create" else "create"), secret
                self._note_secret(commit, planned, action, secret)
                return
            else:
                return
        event = Event(index, action, secret, 0 if action == "delete" else self.mark())
        planned.events.append(event)
        commit.changes.append(("D" if action == "delete" else "M", planned))
        self._note_secret(commit, planned, action, secret)

    @staticmethod
    def _note_secret(commit: Commit, planned: PlannedFile, action: str, secret: Secret | None) -> None:
        if secret is None:
            return
        if action in ("create", "plant"):
            secret.introduced_mark = commit.mark
            secret.path = planned.path
        else:
            secret.removed_mark = commit.mark

    def random_path(self, kind: str, number: int) -> str:
        top = {"py": "src", "yaml": "deploy", "json": "data", "md": "docs", "js": "web", "ini": "config"}[
            kind
        ]
        return f"{top}/{self.rng.choice(WORDS)}/{ident(self.rng)}_{number}.{kind}"

    def target_size(self) -> int:
        mean = self.args.blob_kb * 1024
        return max(200, min(int(self.rng.lognormvariate(0, 0.8) * mean / 1.377), mean * 30))

    def pick(self, count: int, exclude: set[str]) -> list[PlannedFile]:
        chosen: dict[str, PlannedFile] = {}
        for _ in range(count * 3):
            if len(chosen) >= count:
                break
            planned = self.live[self.rng.randrange(len(self.live))]
            if planned.path not in exclude and not planned.huge:
                chosen[planned.path] = planned
        return list(chosen.values())

    def plan(self) -> None:
        args, rng = self.args, self.rng
        first = self.new_commit("refs/heads/main", [], "Initial import")
        for number in range(args.files):
            kind = rng.choice(KINDS)
            planned = self.new_file(self.random_path(kind, number), kind, self.target_size())
            self.change(first, planned, "create")
            self.live.append(planned)
        huge_files = []
        for number in range(args.huge):
            planned = self.new_file(f"web/dist/bundle_{number}.min.js", "js", 9 * 1024 * 1024 + number, True)
            self.change(first, planned, "create")
            huge_files.append(planned)
        main_tip = first.mark
        placements = self.placements()
        positions = sorted(
            rng.sample(range(10, max(11, args.commits - 20)), min(len(placements), args.commits - 30))
        )
        queue = list(zip(positions, placements, strict=False))
        branch: tuple[str, int, list[PlannedFile], int] | None = None  # ref, tip, files, commits left
        release = 0
        while len(self.commits) < args.commits:
            index = len(self.commits)
            if branch is None and rng.random() < 0.03 and index < args.commits - 10:
                files = self.pick(4, self.branch_held | self.reserved)
                if files:
                    self.branch_held.update(f.path for f in files)
                    branch = (f"refs/heads/feature/{ident(rng)}-{index}", main_tip, files, rng.randint(2, 6))
            if branch is not None and rng.random() < 0.4:
                ref, tip, files, left = branch
                commit = self.new_commit(ref, [tip], f"{rng.choice(WORDS).capitalize()} {ident(rng)}")
                for planned in rng.sample(files, rng.randint(1, len(files))):
                    self.change(commit, planned, "edit")
                if left > 1:
                    branch = (ref, commit.mark, files, left - 1)
                else:
                    merge = self.new_commit("refs/heads/main", [main_tip, commit.mark], f"Merge {ref[11:]}")
                    merge.merged_files = files
                    main_tip = merge.mark
                    self.branch_held.difference_update(f.path for f in files)
                    branch = None
                continue
            message = f"{rng.choice(WORDS).capitalize()} {ident(rng)}"
            commit = self.new_commit("refs/heads/main", [main_tip], message)
            main_tip = commit.mark
            for planned in self.pick(rng.randint(1, 2 * args.files_per_commit - 1), self.branch_held):
                self.change(commit, planned, "edit")
            for planned in huge_files:
                if rng.random() < 8 / args.commits:
                    self.change(commit, planned, "edit")
            while queue and queue[0][0] <= index:
                self.plant(queue.pop(0)[1], commit, main_tip)
            self.apply_removals(commit, index)
            if index and index % 500 == 0:
                release += 1
                self.tags.append((f"v1.{release}.0", main_tip, f"Release 1.{release}.0"))
        if self.removals:  # removals still due after the last commit: one final commit
            commit = self.new_commit("refs/heads/main", [main_tip], "Remove leftover credentials")
            self.apply_removals(commit, len(self.commits) + 10**9)

    def placements(self) -> list[tuple[str, str]]:
        kinds = ("aws", "github", "private-key")
        spots = ("deleted-file", "removed-line", "many-versions", "at-head", "side-branch", "tag", "dangling")
        result = []
        for number in range(self.args.secrets):
            spot = spots[number % len(spots)]
            kind = "aws" if spot in ("removed-line", "many-versions") else kinds[(number // len(spots)) % 3]
            result.append((spot, kind))
        return result

    def plant(self, placement: tuple[str, str], commit: Commit, main_tip: int) -> None:
        spot, kind = placement
        rng = self.rng
        number = len(self.secrets) + 1
        style = rng.choice(("ini", "py", "yaml"))
        secret_rng = random.Random(f"{self.args.seed}/secret/{number}")
        secret = make_secret(secret_rng, f"s{number:03d}", kind, spot, style)
        index = len(self.commits) - 1
        if spot in ("deleted-file", "at-head"):
            planned = self.new_file(f"config/{ident(rng)}_{number}.{style}", style, 600)
            self.change(commit, planned, "create", secret)
            self.live.append(planned)
            self.reserved.add(planned.path)
            secret.ref = "refs/heads/main"
            if spot == "deleted-file":
                self.removals.append((index + rng.randint(3, 200), planned, secret))
            self.secrets.append(secret)
            return
        if spot in ("removed-line", "many-versions"):
            candidates = [
                f for f in self.pick(8, self.branch_held | self.reserved) if f.events[-1].commit != index
            ]
            if not candidates:
                return
            planned = candidates[0]
            self.change(commit, planned, "plant", secret)
            self.reserved.add(planned.path)
            secret.ref = "refs/heads/main"
            delay = rng.randint(1, 5) if spot == "removed-line" else rng.randint(300, 900)
            self.removals.append((index + delay, planned, secret))
            self.secrets.append(secret)
            return
        # off main: a new file in a commit on a ref of its own
        name = f"{ident(rng)}-{number}"
        ref = {
            "side-branch": f"refs/heads/experiment/{name}",
            "tag": f"refs/heads/_tmp/tag-{name}",
            "dangling": f"refs/heads/_tmp/dangling-{name}",
        }[spot]
        side = self.new_commit(ref, [main_tip], f"WIP {ident(rng)}")
        planned = self.new_file(f"scripts/{name}.{style}", style, 400)
        self.change(side, planned, "create", secret)
        self.secrets.append(secret)
        if spot == "side-branch":
            secret.ref = ref
        elif spot == "tag":
            tag = f"rc-{name}"
            self.tags.append((tag, side.mark, f"Release candidate {name}"))
            self.temporary_refs.append(ref)
            secret.ref = f"refs/tags/{tag}"
        else:
            self.temporary_refs.append(ref)
            secret.ref = None
        if number % 3 == 0:  # a note on this commit holding a token too
            note_rng = random.Random(f"{self.args.seed}/note/{number}")
            note = make_secret(note_rng, f"s{number:03d}n", "github", "note", "yaml")
            note.ref = "refs/notes/commits"
            note.path = "(note)"
            self.secrets.append(note)
            self.notes.append((side.mark, note))

    def apply_removals(self, commit: Commit, index: int) -> None:
        for item in [item for item in self.removals if item[0] <= index]:
            self.removals.remove(item)
            _, planned, secret = item
            if secret.placement == "deleted-file":
                self.change(commit, planned, "delete", secret)
                self.live.remove(planned)
            else:
                self.change(commit, planned, "unplant", secret)
            self.reserved.discard(planned.path)


# --- emission ---------------------------------------------------------------------------------------


def emit_blobs(planner: Planner, write: Callable[[bytes], object]) -> int:
    by_path: dict[str, list[Secret]] = {}
    for secret in planner.secrets:
        by_path.setdefault(secret.path, []).append(secret)
    total = 0
    for planned in planner.files:
        model: FileModel | None = None
        watched = by_path.get(planned.path, [])
        for event in planned.events:
            if event.action == "delete":
                continue
            if model is None:
                rng = random.Random(f"{planner.args.seed}/file/{planned.path}")
                model = FileModel(planned.path, planned.kind, planned.target, rng, planned.huge)
            else:
                model.edit()
            if event.action in ("create", "plant") and event.secret is not None:
                event.secret.line = model.plant(event.secret.block)
            if event.action == "unplant" and event.secret is not None:
                model.unplant(event.secret.block)
            data = model.data()
            for secret in watched:
                if secret.block[0].encode() in data:
                    secret.blobs.add(hashlib.sha1(data).digest())
            total += len(data)
            write(b"blob\nmark :%d\ndata %d\n" % (event.mark, len(data)) + data + b"\n")
    return total


def emit_commits(planner: Planner, write: Callable[[bytes], object]) -> None:
    latest: dict[str, int] = {}
    for index, commit in enumerate(planner.commits):
        person = f"{commit.author} <{commit.author.lower().replace(' ', '.')}@example.org>"
        message = commit.message.encode() + b"\n"
        lines = [
            f"commit {commit.ref}",
            f"mark :{commit.mark}",
            f"author {person} {commit.time} +0000",
            f"committer {person} {commit.time} +0000",
            f"data {len(message)}",
        ]
        body = "\n".join(lines).encode() + b"\n" + message
        if commit.parents:
            body += f"from :{commit.parents[0]}\n".encode()
        for parent in commit.parents[1:]:
            body += f"merge :{parent}\n".encode()
        for action, planned in commit.changes:
            if action == "D":
                body += f"D {planned.path}\n".encode()
                continue
            mark = next(event.mark for event in reversed(planned.events) if event.commit == index)
            latest[planned.path] = mark
            body += f"M 100644 :{mark} {planned.path}\n".encode()
        for planned in commit.merged_files:  # the merge result: the branch's latest versions
            body += f"M 100644 :{latest[planned.path]} {planned.path}\n".encode()
        write(body + b"\n")


def emit_tags_and_notes(planner: Planner, write: Callable[[bytes], object]) -> None:
    for name, mark, message in planner.tags:
        data = message.encode() + b"\n"
        write(
            f"tag {name}\nfrom :{mark}\ntagger Release Bot <release@example.org> {planner.clock} +0000\n"
            f"data {len(data)}\n".encode()
            + data
            + b"\n"
        )
    if planner.notes:
        notes_message = b"Notes\n"
        body = (
            f"commit refs/notes/commits\nmark :{planner.mark()}\n"
            f"committer Release Bot <release@example.org> {planner.clock} +0000\ndata {len(notes_message)}\n"
        ).encode() + notes_message
        for mark, note in planner.notes:
            text = (f"reviewed with {note.block[0]}\n").encode()
            body += f"N inline :{mark}\ndata {len(text)}\n".encode() + text
        write(body + b"\n")


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    environment.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "core.logAllRefUpdates=false", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env=environment,
        check=True,
    )
    return done.stdout.decode().strip()


def generate(args: argparse.Namespace) -> dict[str, object]:
    started = time.monotonic()
    out = Path(args.out).resolve()
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not empty.")
    out.mkdir(parents=True, exist_ok=True)
    git(out, "init", "-q", *([] if args.checkout else ["--bare"]))
    git_dir = out / ".git" if args.checkout else out
    planner = Planner(args)
    planner.plan()
    marks = git_dir / "keysweep-marks"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    environment.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
    process = subprocess.Popen(
        [
            "git",
            "-c",
            "core.logAllRefUpdates=false",
            "fast-import",
            "--quiet",
            "--done",
            f"--export-marks={marks}",
        ],
        cwd=out,
        stdin=subprocess.PIPE,
        env=environment,
    )
    assert process.stdin is not None
    total = emit_blobs(planner, process.stdin.write)
    emit_commits(planner, process.stdin.write)
    emit_tags_and_notes(planner, process.stdin.write)
    process.stdin.write(b"done\n")
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit("git fast-import failed.")
    for ref in planner.temporary_refs:
        git(out, "update-ref", "-d", ref)
    shas = {}
    for line in marks.read_text().splitlines():
        mark, sha = line.split()
        shas[int(mark[1:])] = sha
    marks.unlink()
    if args.checkout:
        git(out, "reset", "-q", "--hard", "main")
    head_mark = next(c.mark for c in reversed(planner.commits) if c.ref == "refs/heads/main")
    manifest = {
        "seed": args.seed,
        "commits": len(planner.commits),
        "files": args.files,
        "blob_bytes": total,
        "head": shas[head_mark],
        "secrets": [
            {
                "id": secret.ident,
                "kind": secret.kind,
                "placement": secret.placement,
                **secret.values,
                "path": secret.path,
                "line": secret.line,
                "commit": shas.get(secret.introduced_mark),
                "removed_in": shas.get(secret.removed_mark) if secret.removed_mark else None,
                "reachable_from": secret.ref,
                "reachable": secret.ref is not None,
                "at_head": secret.ref == "refs/heads/main" and secret.removed_mark is None,
                "blobs": len(secret.blobs),
            }
            for secret in planner.secrets
        ],
        "seconds": round(time.monotonic() - started, 1),
    }
    Path(f"{out}.manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="directory to create the repository in (must be new or empty)")
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=3_000)
    parser.add_argument("--blob-kb", type=int, default=48, help="mean file size in KB")
    parser.add_argument("--files-per-commit", type=int, default=3, help="mean files changed per commit")
    parser.add_argument("--secrets", type=int, default=48)
    parser.add_argument("--huge", type=int, default=2, help="files over 8 MB (chunked reads)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--checkout", action="store_true", help="a working tree at main (default: bare)")
    args = parser.parse_args(argv)
    manifest = generate(args)
    secrets = manifest["secrets"]
    assert isinstance(secrets, list) and isinstance(manifest["blob_bytes"], int)
    print(
        f"{args.out}: {manifest['commits']} commits, {manifest['blob_bytes'] / 1e9:.2f} GB of blob versions, "
        f"{len(secrets)} planted secrets, {manifest['seconds']} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
