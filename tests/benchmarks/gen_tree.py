#!/usr/bin/env python3
"""Build a deterministic tree of mixed files with planted secrets, for the directory-scan benchmark.

    python tests/benchmarks/gen_tree.py OUT_DIR [--size-mb 300] [--seed 1] [--mix mixed|source]

writes OUT_DIR/tree/ (the files to scan) and OUT_DIR/manifest.json (parameters, the planted secrets
with their paths, and decoys that no scanner should report). The manifest lives outside the tree on
purpose: it holds the planted values in clear and must not be scanned.

The tree mixes what a real monorepo holds: source code in several languages (identifiers, comments,
string literals, the `token`/`password`/`key` words that make prefilters fire), JSON and YAML configs,
lockfiles full of integrity hashes, minified JavaScript with multi-megabyte lines and base64 data URIs,
logs and CSV exports, binary files (random bytes behind image/ELF magic), zip/jar/tar.gz archives
(one nested), Kubernetes Secrets with base64 data, .env files, one UTF-16 file and one CRLF file.
`--mix source` makes a plain code tree instead (source, docs, small configs; the planted files alike).

Same --size-mb and --seed give byte-identical files (archive timestamps are fixed). Text comes from
pools of pre-rendered lines sampled per file, so 300 MB take seconds, not minutes. Every planted value
is generated from the seed at run time: this file holds no secret-looking literal (keysweep scans its
own repository), which is also why some markers below are assembled from pieces.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import math
import random
import shutil
import string
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GENERATOR_VERSION = 2
MIB = 1024 * 1024
# keysweep reads files over 8 MiB in 8 MiB chunks that overlap (scanner/sources/interface.py): one
# planted key id straddles that boundary in a big minified file.
CHUNK_BOUNDARY = 8 * MIB
FIXED_DATE = (2024, 5, 17, 9, 30, 0)
FIXED_MTIME = 1715938200

# Share of --size-mb per kind of content, per --mix (planted files come on top; they are tiny).
# `mixed` is what issue 2 asks for (source, JSON, minified, archives...); `source` is a plain code tree,
# the kind of tree issue 2's reference timings were taken on (153 MB: gitleaks 6.7 s, kingfisher 1.5 s).
MIXED = {
    "source": 0.36,
    "docs": 0.03,
    "json_config": 0.03,
    "json_data": 0.06,
    "yaml": 0.04,
    "lockfiles": 0.07,
    "minified": 0.12,
    "logs": 0.10,
    "csv": 0.06,
    "binary": 0.09,
    "archives": 0.04,
}
SOURCE = {"source": 0.88, "docs": 0.06, "json_config": 0.03, "yaml": 0.03}
MIXES = {"mixed": MIXED, "source": SOURCE}

UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = UPPER + LOWER + DIGITS
BASE62 = DIGITS + UPPER + LOWER
BASE32 = UPPER + "234567"
B64 = UPPER + LOWER + DIGITS + "+/"
HEX = "0123456789abcdef"
DASHES = "-" * 5

WORDS = """
account action active address admin agent alert amount api app apply archive array asset audit auth
backend balance batch billing block body bucket buffer build bundle cache callback card cart catalog
channel charge check client cluster code collect column command commit config connect consumer content
context count country coupon create credit cursor customer dashboard data database date debug default
delete deploy device digest discount dispatch document domain driver email endpoint engine entry error
event export factory feature fetch field file filter flag format frame gateway group handler hash header
health history host image import index input instance invoice item job journal kernel label layer
ledger limit line link list loader locale lock log lookup manager mapping market member merge message
meta metric migration mode model module monitor node notice notify object offset order origin output
owner package page parser partner patch path payload payment peer pending period plan plugin policy
pool port position price process product profile project provider proxy query queue quota range rate
reader record region registry release report request resource response result retry review role route
rule runner sample schema scope search section segment sender service session setting shard shipment
signal source stage state status step storage store stream subject summary supplier switch sync table
target task template tenant ticket timer trace tracker transfer transport trigger update upload usage
user value vendor version view visit wallet warehouse webhook window worker workflow zone
""".split()  # noqa: SIM905
VERBS = "get set load save find build parse render send fetch update delete create apply resolve".split()  # noqa: SIM905
SERVICES = [
    *"billing checkout catalog identity inventory ledger notifications orders payments".split(),  # noqa: SIM905
    *"search shipping reporting gateway analytics".split(),  # noqa: SIM905
]
HOSTS = ["api.internal", "db-prod.internal", "cache.svc.cluster.local", "queue.internal", "example.org"]
LEVELS = ["INFO"] * 12 + ["DEBUG"] * 6 + ["WARN"] * 2 + ["ERROR"]


# --- random values ------------------------------------------------------------------------------


class Gen:
    """Random values from one seeded generator: the only source of randomness in the tree."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    def word(self) -> str:
        return self.rng.choice(WORDS)

    def snake(self) -> str:
        return "_".join(self.rng.choices(WORDS, k=self.rng.choice((1, 2, 2, 3))))

    def camel(self) -> str:
        parts = self.rng.choices(WORDS, k=self.rng.choice((1, 2, 2, 3)))
        return parts[0] + "".join(p.capitalize() for p in parts[1:])

    def pascal(self) -> str:
        return "".join(p.capitalize() for p in self.rng.choices(WORDS, k=self.rng.choice((1, 2, 3))))

    def upper(self) -> str:
        return "_".join(self.rng.choices(WORDS, k=self.rng.choice((1, 2, 3)))).upper()

    def sentence(self, low: int = 4, high: int = 12) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(low, high))
        return " ".join(words).capitalize()

    def uuid(self) -> str:
        h = self.chars(HEX, 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def b64(self, nbytes: int) -> str:
        return base64.b64encode(self.rng.randbytes(nbytes)).decode()

    def version(self) -> str:
        return f"{self.rng.randint(0, 9)}.{self.rng.randint(0, 30)}.{self.rng.randint(0, 40)}"

    def timestamp(self) -> str:
        r = self.rng
        return (
            f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:"
            f"{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z"
        )

    def size(self, median: int, sigma: float, low: int, high: int) -> int:
        return int(min(high, max(low, self.rng.lognormvariate(math.log(median), sigma))))

    # Credentials in the formats providers issue. Made up here, from the seed.

    def aws_key_id(self, prefix: str = "AKIA") -> str:
        return prefix + self.chars(BASE32, 16)

    def aws_secret(self) -> str:
        while True:
            value = self.chars(B64, 40)
            if (
                any(c in UPPER for c in value)
                and any(c in LOWER for c in value)
                and any(c in DIGITS for c in value)
            ):
                return value

    def github_token(self, prefix: str = "ghp_") -> str:
        """30 random base62 characters and their CRC32 in 6 base62 digits, as GitHub issues them."""
        body = self.chars(ALNUM, 30)
        crc = zlib.crc32(body.encode())
        digits = ""
        while crc:
            crc, rest = divmod(crc, 62)
            digits = BASE62[rest] + digits
        return prefix + body + digits.rjust(6, "0")

    def gitlab_token(self) -> str:
        return "glpat-" + self.chars(ALNUM, 20)

    def slack_bot_token(self) -> str:
        r = self.rng
        return f"xoxb-{r.randint(10**11, 10**12 - 1)}-{r.randint(10**12, 10**13 - 1)}-{self.chars(ALNUM, 24)}"

    def slack_webhook(self) -> str:
        return (
            "https://hooks.slack.com/services/"
            f"T{self.chars(UPPER + DIGITS, 8)}/B{self.chars(UPPER + DIGITS, 10)}/{self.chars(ALNUM, 24)}"
        )

    def stripe_key(self) -> str:
        return "sk_" + "live_" + self.chars(ALNUM, 24)

    def password(self, n: int = 20) -> str:
        return (
            self.chars(ALNUM + "!*_-.~", n - 4)  # allowed unescaped in a URL's user:password@
            + self.chars(DIGITS, 2)
            + self.chars(UPPER, 1)
            + self.chars(LOWER, 1)
        )

    def private_key_pem(self) -> tuple[str, str]:
        """(PEM text, its first body line): a PKCS#1-shaped RSA key of random bytes."""
        der = bytes.fromhex("308204a40201000282010100") + self.rng.randbytes(1180)
        body = base64.b64encode(der).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        label = "RSA " + "PRIV" + "ATE KEY"
        pem = f"{DASHES}BEGIN {label}{DASHES}\n" + "\n".join(lines) + f"\n{DASHES}END {label}{DASHES}\n"
        return pem, lines[1]


# --- line pools: text is sampled from pre-rendered lines, which keeps generation fast -------------

_FIELDS = string.Formatter()


def render_pool(gen: Gen, templates: list[str], count: int) -> list[str]:
    makers: dict[str, Callable[[], str]] = {
        "a": gen.snake,
        "b": gen.snake,
        "c": gen.camel,
        "d": gen.camel,
        "A": gen.pascal,
        "B": gen.pascal,
        "U": gen.upper,
        "w": gen.word,
        "v": lambda: gen.rng.choice(VERBS),
        "n": lambda: str(gen.rng.randint(0, 5000)),
        "f": lambda: f"{gen.rng.uniform(0, 10000):.2f}",
        "s": gen.sentence,
        "h": lambda: gen.chars(HEX, 40),
        "h7": lambda: gen.chars(HEX, 7),
        "uuid": gen.uuid,
        "host": lambda: gen.rng.choice(HOSTS),
        "ver": gen.version,
        "ts": gen.timestamp,
        "lvl": lambda: gen.rng.choice(LEVELS),
        "ip": lambda: ".".join(str(gen.rng.randint(1, 254)) for _ in range(4)),
        "b64": lambda: gen.b64(gen.rng.randint(12, 48)),
    }
    parsed = [(t, [name for _, name, _, _ in _FIELDS.parse(t) if name]) for t in templates]
    pool = []
    for _ in range(count):
        template, names = gen.rng.choice(parsed)
        pool.append(template.format(**{name: makers[name]() for name in dict.fromkeys(names)}))
    return pool


def templates(block: str) -> list[str]:
    """One template per line; `~` stands for an empty line (blank lines make code look like code)."""
    return ["" if line == "~" else line for line in block.strip("\n").split("\n")]


PYTHON = templates("""
import {a}
from {a}.{b} import {A}
~
~
~
class {A}({B}):
    \"\"\"{s}.\"\"\"
def {v}_{a}({b}, {c}=None):
    {a} = {b}.{v}_{c}({d})
    if {a} is None:
        return {b}
    for {a} in {b}.{c}():
        {a}.append({b}[{n}])
    # {s}
        # {s}
    logger.info("{s}: %s", {a})
    {a}_token = request.headers.get("X-{A}-Token")
    api_key = os.environ["{U}_API_KEY"]
    password = getpass.getpass()
    {a}_secret = settings.{U}_SECRET
    {a} = "{h}"  # pinned revision
    {a} = "{uuid}"
    url = f"https://{host}/api/v2/{a}/{{{b}}}"
        raise ValueError(f"invalid {a}: {{{b}!r}}")
    return {{"{a}": {b}, "{c}": {n}}}
    {a}: dict[str, {A}] = {{}}
    @property
    def {a}(self) -> {A}:
        return self._{a}
    assert {a} == {n}, {b}
        self.{a} = {b}
    with open({a}, encoding="utf-8") as handle:
    digest = "{b64}"
    return await self.{v}_{a}({b}, timeout={n})
    except {A}Error as exc:
""")
JAVASCRIPT = templates("""
import {{ {c} }} from './{a}';
const {c} = require('{w}-{w}');
~
~
export function {c}({d}) {{
  const {c} = await {d}.{v}({n});
  if (!{c}) {{
    return null;
  }}
}}
  // {s}
  /* {s} */
  console.log(`{s}: ${{{c}}}`);
  const token = process.env.{U}_TOKEN;
  headers['Authorization'] = `Bearer ${{{c}.accessToken}}`;
  const apiKey = config.get('{c}.apiKey');
  return {{ {c}: {d}, {w}: '{s}' }};
  this.{c} = {d} || {n};
  for (const {c} of {d}) {{
    {c}.push({d}[{n}]);
  }} catch (err) {{
    throw new Error('{s}');
  const id = '{uuid}';
  await fetch(`https://{host}/v1/{w}/${{{c}}}`, {{ method: 'POST' }});
export default {A};
  const {c} = useState({n});
  password: '',
  const sha = '{h}';
""")
TYPESCRIPT = [
    *JAVASCRIPT,
    *templates("""
export interface {A} {{
  {c}: string;
  {c}?: number;
  {c}: {A}[];
type {A} = {B} | null;
  private readonly {c}: {A};
  constructor(private {c}: {A}Service) {{}}
"""),
]
GO = templates("""
package {w}
import (
\t"{w}/{w}"
)
~
~
func ({c} *{A}) {A}({d} {B}) error {{
\tif err != nil {{
\t\treturn fmt.Errorf("{s}: %w", err)
\t}}
}}
\t// {s}
\t{c} := {d}.{A}({n})
\tfor _, {c} := range {d} {{
\ttoken := os.Getenv("{U}_TOKEN")
\treq.Header.Set("X-Api-Key", cfg.{A}Key)
type {A} struct {{
\t{A} string `json:"{a}"`
\t{A} int64  `json:"{a},omitempty"`
\treturn &{A}{{{A}: {d}}}, nil
\tlog.Printf("{s} %v", {c})
\tconst {c}Sha = "{h}"
\tdefer {c}.Close()
""")
JAVA = templates("""
package com.acme.{w}.{w};
import com.acme.{w}.{A};
~
~
public class {A} extends {B} {{
    private final {A} {c};
    // {s}
    /** {s}. */
    public {A} {v}{A}({B} {c}) {{
        if ({c} == null) {{
            throw new IllegalArgumentException("{s}");
        }}
        return {c}.{v}{A}({n});
    }}
}}
    @Override
    @Value("${{{w}.{w}.api-key}}")
    private String apiKey;
        String password = System.getenv("{U}_PASSWORD");
        LOG.info("{s} {{}}", {c});
        for ({A} {c} : {d}) {{
        String id = "{uuid}";
""")
RUBY = templates("""
require '{w}'
~
~
class {A} < {B}
  def {a}({b})
    {a} = {b}.{v}_{a}({n})
  end
end
  # {s}
    return nil if {a}.nil?
    token = ENV['{U}_TOKEN']
    @{a} ||= {A}.new({b})
    {a}.each do |{b}|
    raise ArgumentError, '{s}'
    Rails.logger.info "{s} #{{{a}}}"
  attr_reader :{a}, :{b}
    secret_key_base = Rails.application.credentials.{a}
""")
LANGUAGES = {"py": PYTHON, "js": JAVASCRIPT, "ts": TYPESCRIPT, "go": GO, "java": JAVA, "rb": RUBY}
LANGUAGE_WEIGHTS = {"py": 3, "js": 2, "ts": 3, "go": 2, "java": 2, "rb": 1}
MINIFIED = templates("""
function {c}(e,t){{return e.{c}(t)||{n}}}
var {c}=n({n}),{d}=r(o.{c});
{c}:"{s}",
"{w}":function(e,t,n){{"use strict";n.d(t,"{A}",function(){{return {c}}})}},
if(!e)throw new Error("{s}");
e.exports={{{c}:{n},{d}:"{w}"}};
for(var r=0;r<e.length;r++)t[r]=e[r];
const {c}=t=>t.{c}.map(n=>n.{d});
.{w}-{w}{{margin:{n}px;color:#{h7}}}
window.{c}="{uuid}";
return e.headers.authorization="Bearer "+t.token,e;
apiKey:t.apiKey||"",
sha:"{h}",
""")
LOG_MESSAGES = templates("""
{ts} {lvl} [{w}-worker-{n}] {s}
{ts} {lvl} http: GET /api/v1/{w}/{n} 200 {n}ms ip={ip}
{ts} {lvl} http: POST /api/v1/{w} 201 {n}ms request_id={uuid}
{ts} {lvl} db: query {w} took {f}ms
{ts} {lvl} auth: token refreshed for user_id={n} session={uuid}
{ts} {lvl} {w}: retrying in {n}ms ({s})
{ts} {lvl} cache: miss key={w}:{n}:{h7}
{ts} {lvl} deploy: revision {h} rolled out to {w}
{ts} {lvl} auth: login failed for {w}.{w}@example.org password=[REDACTED]
""")
CSV_ROWS = templates("""
{uuid},{w}.{w}@example.org,{A},{f},{ts},{w}
{n},{A} {B},{f},{w},{ts},{ip}
{uuid},{n},{w},{f},{h7},{ts}
""")
JSON_RECORDS = templates("""
  {{"id": "{uuid}", "email": "{w}.{w}@example.org", "amount": {f}, "status": "{w}", "created_at": "{ts}"}}
  {{"id": {n}, "name": "{A} {B}", "tags": ["{w}", "{w}"], "score": {f}, "checksum": "{h}"}}
  {{"event": "{a}", "user": "{uuid}", "payload": {{"{c}": "{s}", "count": {n}}}, "at": "{ts}"}}
""")
MARKDOWN = templates("""
# {A}
## {s}
~
~
{s}. {s}.
{s}.
- {s}
- `{a}`: {s}
```sh
```
{w} {v} --{w} {n}
| {w} | {s} |
See [{w}](https://{host}/{w}) for {s}.
Set `{U}_TOKEN` in your environment before running `{w}`.
""")
YAML_DOCS = [
    """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {w}-{w}
  labels: {{app: {w}, tier: {w}}}
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: {w}
          image: registry.internal/{w}/{w}:{ver}
          env:
            - name: {U}_URL
              value: https://{host}/{w}
            - name: {U}_API_KEY
              valueFrom:
                secretKeyRef: {{name: {w}-secrets, key: api-key}}
          resources: {{limits: {{cpu: 500m, memory: 512Mi}}}}
""",
    """name: {s}
on:
  push:
    branches: [main]
jobs:
  {w}:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make {w}
        env:
          AWS_ACCESS_KEY_ID: ${{{{ secrets.AWS_ACCESS_KEY_ID }}}}
          AWS_SECRET_ACCESS_KEY: ${{{{ secrets.AWS_SECRET_ACCESS_KEY }}}}
          GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
""",
    """services:
  {w}:
    image: {w}:{ver}
    environment:
      POSTGRES_PASSWORD: ${{POSTGRES_PASSWORD}}
      {U}_TOKEN: ${{{U}_TOKEN}}
    ports: ["{n}:{n}"]
""",
    """{w}:
  enabled: true
  replicaCount: {n}
  {c}: "{s}"
  password: ""
  existingSecret: {w}-credentials
  checksum: {h}
""",
]


# --- the tree -------------------------------------------------------------------------------------


@dataclass
class Planted:
    id: str
    kind: str
    path: str  # relative to the tree; archive members joined with "!"
    needles: list[str]  # the first identifies the secret; the others (a pair's secret) must be found too
    context: str  # plain, archive, base64, utf-16, crlf, chunk-boundary, url-encoded, minified


@dataclass
class Tree:
    root: Path
    gen: Gen
    size: int
    written: int = 0
    files: int = 0
    paths: set[str] = field(default_factory=set)
    planted: list[Planted] = field(default_factory=list)
    decoys: list[dict[str, str]] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)

    def unique(self, directory: str, stem: str, suffix: str) -> str:
        path = f"{directory}/{stem}{suffix}"
        n = 2
        while path in self.paths:
            path = f"{directory}/{stem}_{n}{suffix}"
            n += 1
        self.paths.add(path)
        return path

    def write(self, path: str, data: bytes | str, kind: str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
        self.paths.add(path)
        self.written += len(raw)
        self.files += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + len(raw)

    def plant(self, kind: str, path: str, needles: list[str], context: str = "plain") -> None:
        self.planted.append(Planted(f"p{len(self.planted) + 1:02d}-{kind}", kind, path, needles, context))

    def decoy(self, kind: str, path: str, needle: str) -> None:
        self.decoys.append({"kind": kind, "path": path, "needle": needle})


def lines_text(gen: Gen, pool: list[str], size: int, header: str = "") -> str:
    average = sum(len(line) + 1 for line in pool[:200]) / min(200, len(pool))
    count = max(1, int(size / average))
    return header + "\n".join(gen.rng.choices(pool, k=count)) + "\n"


def directories(gen: Gen, count: int) -> list[str]:
    tops = ["services/{s}/src/{a}", "services/{s}/tests", "libs/{a}/{b}", "web/{s}/src/{a}", "tools/{a}"]
    result = set()
    for _ in range(count):
        template = gen.rng.choice(tops)
        result.add(template.format(s=gen.rng.choice(SERVICES), a=gen.word(), b=gen.word()))
    return sorted(result)


def fill_source(tree: Tree, budget: int) -> None:
    gen = tree.gen
    pools = {ext: render_pool(gen, templates, 4000) for ext, templates in LANGUAGES.items()}
    dirs = directories(gen, 500)
    exts = list(LANGUAGE_WEIGHTS)
    weights = list(LANGUAGE_WEIGHTS.values())
    used = 0
    while used < budget:
        ext = gen.rng.choices(exts, weights)[0]
        size = gen.size(9000, 0.9, 300, 160_000)
        header = f"// {gen.sentence()}\n// Copyright 2024 Acme Corp. {gen.uuid()}\n"
        if ext in ("py", "rb"):
            header = header.replace("//", "#")
        text = lines_text(gen, pools[ext], size, header)
        path = tree.unique(gen.rng.choice(dirs), gen.snake(), "." + ext)
        tree.write(path, text, "source")
        used += len(text)


def fill_docs(tree: Tree, budget: int) -> None:
    gen = tree.gen
    pool = render_pool(gen, MARKDOWN, 2000)
    used = 0
    while used < budget:
        text = lines_text(gen, pool, gen.size(6000, 0.8, 500, 80_000), f"# {gen.pascal()}\n\n")
        tree.write(tree.unique(f"docs/{gen.word()}", gen.snake(), ".md"), text, "docs")
        used += len(text)


def random_json(gen: Gen, depth: int) -> object:
    r = gen.rng
    if depth == 0 or r.random() < 0.3:
        return r.choice(
            [
                r.randint(0, 10000),
                gen.sentence(1, 4),
                r.random() < 0.5,
                f"https://{r.choice(HOSTS)}/{gen.word()}",
                gen.uuid(),
                None,
            ]
        )
    if r.random() < 0.25:
        return [random_json(gen, depth - 1) for _ in range(r.randint(1, 6))]
    return {gen.camel(): random_json(gen, depth - 1) for _ in range(r.randint(2, 9))}


def fill_json_config(tree: Tree, budget: int) -> None:
    gen = tree.gen
    used = 0
    while used < budget:
        r = gen.rng
        if r.random() < 0.4:
            document: object = {
                "name": f"@acme/{gen.word()}-{gen.word()}",
                "version": gen.version(),
                "private": True,
                "scripts": {gen.word(): f"{gen.word()} --{gen.word()}" for _ in range(r.randint(3, 10))},
                "dependencies": {
                    f"{gen.word()}-{gen.word()}": "^" + gen.version() for _ in range(r.randint(5, 40))
                },
                "devDependencies": {gen.word(): "~" + gen.version() for _ in range(r.randint(3, 20))},
            }
            name = "package"
        else:
            document = random_json(gen, 5)
            name = gen.snake()
        text = json.dumps(document, indent=2) + "\n"
        tree.write(tree.unique(f"services/{r.choice(SERVICES)}/config", name, ".json"), text, "json_config")
        used += len(text)


def fill_json_data(tree: Tree, budget: int) -> None:
    gen = tree.gen
    pool = render_pool(gen, JSON_RECORDS, 6000)
    used = 0
    while used < budget:
        count = gen.size(4000, 1.0, 20, 40_000)
        text = "[\n" + ",\n".join(gen.rng.choices(pool, k=count)) + "\n]\n"
        tree.write(tree.unique("data/fixtures", gen.snake(), ".json"), text, "json_data")
        used += len(text)


def fill_yaml(tree: Tree, budget: int) -> None:
    gen = tree.gen
    pool = render_pool(gen, YAML_DOCS, 1500)
    used = 0
    while used < budget:
        r = gen.rng
        # A Kubernetes Secret holding harmless base64 values (decoding work), a third of them with a
        # base64 CA certificate. Kept rare: kingfisher 2.14 spends ~45 ms per such file (measured).
        if r.random() < 0.03:
            values = {
                gen.word(): base64.b64encode(gen.sentence().encode()).decode() for _ in range(r.randint(1, 4))
            }
            if r.random() < 0.33:
                values["ca.crt"] = base64.b64encode(certificate(gen).encode()).decode()
            text = kube_secret(f"{gen.word()}-{gen.word()}", values)
            path = tree.unique(f"deploy/k8s/{r.choice(SERVICES)}", gen.word() + "-secret", ".yaml")
        else:
            text = "---\n".join(r.choices(pool, k=r.randint(1, 12)))
            path = tree.unique(
                f"deploy/{r.choice(['k8s', 'helm', 'ci', 'compose'])}/{r.choice(SERVICES)}",
                gen.word(),
                ".yaml",
            )
        tree.write(path, text, "yaml")
        used += len(text)


def certificate(gen: Gen) -> str:
    body = gen.b64(gen.rng.randint(700, 1100))
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"{DASHES}BEGIN CERTIFICATE{DASHES}\n{lines}\n{DASHES}END CERTIFICATE{DASHES}\n"


def kube_secret(name: str, values: dict[str, str]) -> str:
    data = "".join(f"  {key}: {value}\n" for key, value in values.items())
    header = "apiVersion: v1\nkind: Secret\nmetadata:\n"
    return f"{header}  name: {name}\n  namespace: prod\ntype: Opaque\ndata:\n{data}"


def fill_lockfiles(tree: Tree, budget: int) -> None:
    gen = tree.gen
    used = 0
    while used < budget:
        r = gen.rng
        kind = r.choice(["npm", "npm", "yarn", "poetry", "gosum"])
        count = gen.size(1200, 0.8, 50, 12_000)
        service = r.choice(SERVICES)
        if kind == "npm":
            entries = []
            for _ in range(count):
                name, version = f"{gen.word()}-{gen.word()}", gen.version()
                entries.append(
                    f'    "node_modules/{name}": {{\n      "version": "{version}",\n'
                    f'      "resolved": "https://registry.npmjs.org/{name}/-/{name}-{version}.tgz",\n'
                    f'      "integrity": "sha512-{gen.b64(64)}",\n'
                    f'      "dev": {str(r.random() < 0.4).lower()}\n    }}'
                )
            text = (
                '{\n  "name": "'
                + service
                + '",\n  "lockfileVersion": 3,\n  "packages": {\n'
                + ",\n".join(entries)
                + "\n  }\n}\n"
            )
            path = tree.unique(f"web/{service}", "package-lock", ".json")
        elif kind == "yarn":
            parts = []
            for _ in range(count):
                name, version = f"{gen.word()}-{gen.word()}", gen.version()
                parts.append(
                    f'"{name}@^{version}":\n  version "{version}"\n'
                    f'  resolved "https://registry.yarnpkg.com/{name}/-/{name}-{version}.tgz'
                    f'#{gen.chars(HEX, 40)}"\n'
                    f"  integrity sha512-{gen.b64(64)}\n"
                )
            text = "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n\n" + "\n".join(parts)
            path = tree.unique(f"web/{service}", "yarn", ".lock")
        elif kind == "poetry":
            parts = []
            for _ in range(count // 3 + 1):
                name, version = gen.word(), gen.version()
                files = ",\n".join(
                    f'    {{file = "{name}-{version}-py3-none-any.whl", '
                    f'hash = "sha256:{gen.chars(HEX, 64)}"}}'
                    for _ in range(r.randint(1, 4))
                )
                parts.append(f'[[package]]\nname = "{name}"\nversion = "{version}"\nfiles = [\n{files},\n]\n')
            text = "\n".join(parts)
            path = tree.unique(f"services/{service}", "poetry", ".lock")
        else:
            lines = []
            for _ in range(count):
                module, version = f"github.com/{gen.word()}/{gen.word()}", gen.version()
                lines.append(f"{module} v{version} h1:{gen.b64(32)}")
                lines.append(f"{module} v{version}/go.mod h1:{gen.b64(32)}")
            text = "\n".join(lines) + "\n"
            path = tree.unique(f"libs/{gen.word()}", "go", ".sum")
        tree.write(path, text, "lockfiles")
        used += len(text)


def minified_text(gen: Gen, pool: list[str], size: int) -> str:
    """Minified JS: fragments without newlines, a newline every few MB, base64 data URIs here and there."""
    parts: list[str] = []
    total = 0
    line = 0
    while total < size:
        chunk = "".join(gen.rng.choices(pool, k=2000))
        if gen.rng.random() < 0.2:
            chunk += f'background:url("data:image/png;base64,{gen.b64(gen.rng.randint(300, 6000))}");'
        parts.append(chunk)
        total += len(chunk)
        line += len(chunk)
        if line > 2 * MIB and gen.rng.random() < 0.3:
            parts.append("\n")
            line = 0
    return "".join(parts)[:size] + "\n"


def fill_minified(tree: Tree, budget: int) -> None:
    gen = tree.gen
    pool = render_pool(gen, MINIFIED, 5000)
    used = 0
    if budget >= CHUNK_BOUNDARY + 2 * MIB:
        # One file over keysweep's chunk size with an AWS key id straddling the chunk boundary.
        text = minified_text(gen, pool, CHUNK_BOUNDARY + gen.rng.randint(MIB, 2 * MIB))
        key_id = gen.aws_key_id()
        snippet = f'accessKeyId:"{key_id}",'
        start = CHUNK_BOUNDARY - 10 - len('accessKeyId:"')  # the key id spans [boundary - 10, boundary + 10)
        text = text[:start] + snippet + text[start + len(snippet) :]
        path = tree.unique("web/checkout/dist", "vendor.bundle", ".min.js")
        tree.write(path, text, "minified")
        tree.plant("aws-key-id", path, [key_id], "chunk-boundary")
        used += len(text)
    while used < budget:
        size = min(budget - used + 1000, gen.size(900_000, 1.0, 50_000, 6 * MIB))
        text = minified_text(gen, pool, size)
        path = tree.unique(
            f"web/{gen.rng.choice(SERVICES)}/dist", f"{gen.word()}.{gen.chars(HEX, 8)}", ".min.js"
        )
        tree.write(path, text, "minified")
        used += len(text)


def fill_logs(tree: Tree, budget: int) -> None:
    gen = tree.gen
    pool = render_pool(gen, LOG_MESSAGES, 8000)
    used = 0
    day = 0
    while used < budget:
        day += 1
        text = lines_text(gen, pool, min(budget - used + 1000, gen.size(1_500_000, 1.0, 20_000, 12 * MIB)))
        tree.write(
            tree.unique(f"logs/{gen.rng.choice(SERVICES)}", f"app-2024-{day:04d}", ".log"), text, "logs"
        )
        used += len(text)


def fill_csv(tree: Tree, budget: int) -> None:
    gen = tree.gen
    pool = render_pool(gen, CSV_ROWS, 6000)
    used = 0
    while used < budget:
        header = "id,email,name,amount,created_at,region\n"
        size = min(budget - used + 1000, gen.size(600_000, 1.2, 2_000, 10 * MIB))
        text = lines_text(gen, pool, size, header)
        tree.write(tree.unique("data/exports", gen.snake(), ".csv"), text, "csv")
        used += len(text)


BINARY_KINDS = [
    ("assets/img", ".png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 40_000),
    ("assets/img", ".jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", 60_000),
    ("assets/fonts", ".woff2", b"wOF2\x00\x01\x00\x00", 80_000),
    ("bin/linux-amd64", ".so", b"\x7fELF\x02\x01\x01\x00", 400_000),
    ("services/analytics/models", ".bin", b"\x93NUMPY\x01\x00", 900_000),
]


def fill_binary(tree: Tree, budget: int) -> None:
    gen = tree.gen
    used = 0
    while used < budget:
        directory, suffix, magic, median = gen.rng.choice(BINARY_KINDS)
        data = magic + gen.rng.randbytes(min(budget - used + 1000, gen.size(median, 1.0, 500, 8 * MIB)))
        tree.write(tree.unique(directory, gen.snake(), suffix), data, "binary")
        used += len(data)


def zip_bytes(members: list[tuple[str, bytes]], level: int = 6) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=level)
    return buffer.getvalue()


def targz_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=FIXED_MTIME, compresslevel=6) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def gz_bytes(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=FIXED_MTIME) as compressed:
        compressed.write(data)
    return buffer.getvalue()


def fill_archives(tree: Tree, budget: int) -> None:
    gen = tree.gen
    pools = {ext: render_pool(gen, LANGUAGES[ext], 1500) for ext in ("py", "java", "js")}
    yaml_pool = render_pool(gen, YAML_DOCS, 300)
    used = 0
    n = 0
    while used < budget:
        n += 1
        r = gen.rng
        if n % 3 == 1:  # a jar: compiled classes (incompressible) and a few text resources
            members = [
                ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\nCreated-By: 17.0.2 (Eclipse Adoptium)\n")
            ]
            for _ in range(r.randint(20, 80)):
                members.append(
                    (
                        f"com/acme/{gen.word()}/{gen.pascal()}.class",
                        b"\xca\xfe\xba\xbe" + r.randbytes(r.randint(800, 12_000)),
                    )
                )
            members.append(("application.properties", lines_text(gen, pools["java"], 3000).encode()))
            data = zip_bytes(members, level=1)
            path = tree.unique("vendor/java", f"{gen.word()}-{gen.word()}-{gen.version()}", ".jar")
        elif n % 3 == 2:  # a zip of sources
            members = [
                (
                    f"src/{gen.word()}/{gen.snake()}.{ext}",
                    lines_text(gen, pools[ext], gen.size(8000, 0.8, 500, 60_000)).encode(),
                )
                for ext in r.choices(list(pools), k=r.randint(10, 60))
            ]
            data = zip_bytes(members)
            path = tree.unique("dist", f"{gen.word()}-{gen.version()}-src", ".zip")
        else:  # a tar.gz of configs
            members = [
                (
                    f"etc/{gen.word()}/{gen.word()}.yaml",
                    "---\n".join(r.choices(yaml_pool, k=r.randint(1, 10))).encode(),
                )
                for _ in range(r.randint(10, 60))
            ]
            data = targz_bytes(members)
            path = tree.unique("backups", f"config-2024-{n:03d}", ".tar.gz")
        tree.write(path, data, "archives")
        used += len(data)


# --- planted secrets and decoys ---------------------------------------------------------------------


def plant_secrets(tree: Tree) -> None:
    gen = tree.gen
    r = gen.rng
    py_pool = render_pool(gen, PYTHON, 500)

    def surround(text: str, before: int = 2000, after: int = 2000) -> str:
        return lines_text(gen, py_pool, before) + text + lines_text(gen, py_pool, after)

    # AWS key id + secret pairs, in the shapes they leak in.
    kid, sec = gen.aws_key_id(), gen.aws_secret()
    tree.write(
        "services/payments/.env",
        f"APP_ENV=production\nAWS_ACCESS_KEY_ID={kid}\nAWS_SECRET_ACCESS_KEY={sec}\nAWS_REGION=eu-west-1\n",
        "planted",
    )
    tree.plant("aws-pair", "services/payments/.env", [kid, sec])

    kid, sec = gen.aws_key_id(), gen.aws_secret()
    path = "services/reporting/src/export/s3_upload.py"
    tree.write(
        path,
        surround(
            f'    client = boto3.client(\n        "s3",\n        aws_access_key_id="{kid}",\n'
            f'        aws_secret_access_key="{sec}",\n    )\n'
        ),
        "planted",
    )
    tree.plant("aws-pair", path, [kid, sec])

    kid, sec = gen.aws_key_id(), gen.aws_secret()
    path = "tools/ops/aws/credentials"
    tree.write(
        path,
        f"[default]\nregion = us-east-1\n\n[deploy]\naws_access_key_id = {kid}\n"
        f"aws_secret_access_key = {sec}\n",
        "planted",
    )
    tree.plant("aws-pair", path, [kid, sec])

    kid, sec = gen.aws_key_id(), gen.aws_secret()
    path = "data/exports/ci-bot_accessKeys.csv"
    tree.write(path, f"Access key ID,Secret access key\n{kid},{sec}\n", "planted")
    tree.plant("aws-pair", path, [kid, sec])

    kid, sec = gen.aws_key_id(), gen.aws_secret()
    path = "services/ledger/config/aws.json"
    tree.write(
        path,
        json.dumps(
            {"region": "us-west-2", "credentials": {"accessKeyId": kid, "secretAccessKey": sec}}, indent=2
        )
        + "\n",
        "planted",
    )
    tree.plant("aws-pair", path, [kid, sec])

    kid = gen.aws_key_id("ASIA")
    sec = gen.aws_secret()
    session = gen.b64(300)
    path = "tools/ops/assume-role.sh"
    tree.write(
        path,
        f"#!/bin/sh\nexport AWS_ACCESS_KEY_ID={kid}\nexport AWS_SECRET_ACCESS_KEY={sec}\n"
        f"export AWS_SESSION_TOKEN={session}\naws s3 ls\n",
        "planted",
    )
    tree.plant("aws-pair", path, [kid, sec])

    # AWS key ids alone.
    kid = gen.aws_key_id()
    path = "deploy/terraform/backend.yaml"
    tree.write(
        path, f"backend:\n  bucket: acme-tfstate\n  access_key: {kid}\n  region: eu-central-1\n", "planted"
    )
    tree.plant("aws-key-id", path, [kid])
    kid = gen.aws_key_id()
    path = "logs/gateway/s3-proxy.log"
    tree.write(
        path,
        f"{gen.timestamp()} INFO proxy: Authorization: AWS4-HMAC-SHA256 "
        f"Credential={kid}/20240517/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, "
        f"Signature={gen.chars(HEX, 64)}\n",
        "planted",
    )
    tree.plant("aws-key-id", path, [kid])

    # Other providers.
    token = gen.github_token()
    path = "services/identity/.env"
    tree.write(path, f"GITHUB_TOKEN={token}\nLOG_LEVEL=info\n", "planted")
    tree.plant("github-pat", path, [token])
    token = gen.github_token("gho_")
    path = "tools/release/publish.py"
    tree.write(path, surround(f'GH_OAUTH = "{token}"\n'), "planted")
    tree.plant("github-oauth", path, [token])
    token = gen.gitlab_token()
    path = "deploy/ci/gitlab-mirror.yaml"
    tree.write(
        path, f"mirror:\n  url: https://gitlab.com/acme/platform.git\n  private_token: {token}\n", "planted"
    )
    tree.plant("gitlab-pat", path, [token])
    token = gen.slack_bot_token()
    path = "services/notifications/src/slack/client.js"
    tree.write(
        path,
        f"const {{ WebClient }} = require('@slack/web-api');\n"
        f"const slack = new WebClient('{token}');\nmodule.exports = slack;\n",
        "planted",
    )
    tree.plant("slack-bot-token", path, [token])
    hook = gen.slack_webhook()
    path = "deploy/helm/notifications/values.yaml"
    tree.write(path, f"alerts:\n  slackWebhookUrl: {hook}\n  channel: '#ops'\n", "planted")
    tree.plant("slack-webhook", path, [hook])
    token = gen.stripe_key()
    path = "services/checkout/src/payments/stripe_client.rb"
    tree.write(path, f"require 'stripe'\nStripe.api_key = '{token}'\n", "planted")
    tree.plant("stripe-secret-key", path, [token])
    pem, marker = gen.private_key_pem()
    path = "deploy/ssh/deploy_rsa"
    tree.write(path, pem, "planted")
    tree.plant("private-key", path, [marker])
    password = gen.password()
    path = "services/orders/src/orders/settings.py"
    tree.write(
        path,
        surround(f'DATABASE_URL = "postgresql://orders_app:{password}@db-prod.internal:5432/orders"\n'),
        "planted",
    )
    tree.plant("database-url", path, [password])
    password = gen.password()
    path = "deploy/compose/inventory/docker-compose.yaml"
    tree.write(
        path,
        f"services:\n  api:\n    environment:\n      DB_DSN: mysql://inventory:{password}@mysql.internal:3306/inventory\n",
        "planted",
    )
    tree.plant("database-url", path, [password])

    # Behind an encoding or inside an archive.
    kid, sec = gen.aws_key_id(), gen.aws_secret()
    credentials = f"[default]\naws_access_key_id = {kid}\naws_secret_access_key = {sec}\n"
    path = "deploy/k8s/billing/aws-credentials-secret.yaml"
    tree.write(
        path,
        kube_secret("aws-credentials", {"credentials": base64.b64encode(credentials.encode()).decode()}),
        "planted",
    )
    tree.plant("aws-pair", path, [kid, sec], "base64")
    token = gen.github_token()
    path = "deploy/k8s/identity/github-secret.yaml"
    tree.write(path, kube_secret("github", {"token": base64.b64encode(token.encode()).decode()}), "planted")
    tree.plant("github-pat", path, [token], "base64")

    kid, sec = gen.aws_key_id(), gen.aws_secret()
    members = [
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        (
            "BOOT-INF/classes/application.properties",
            f"spring.application.name=ledger\ncloud.aws.credentials.access-key={kid}\ncloud.aws.credentials.secret-key={sec}\n".encode(),
        ),
    ] + [
        (f"BOOT-INF/classes/com/acme/{gen.pascal()}.class", b"\xca\xfe\xba\xbe" + r.randbytes(3000))
        for _ in range(20)
    ]
    path = "vendor/java/ledger-service-3.2.0.jar"
    tree.write(path, zip_bytes(members), "planted")
    tree.plant("aws-pair", f"{path}!BOOT-INF/classes/application.properties", [kid, sec], "archive")

    token = gen.slack_bot_token()
    members = [(f"src/{gen.snake()}.py", lines_text(gen, py_pool, 4000).encode()) for _ in range(5)]
    members.append(("src/alerts/settings.py", surround(f'SLACK_BOT_TOKEN = "{token}"\n').encode()))
    path = "dist/alerts-1.4.0-src.zip"
    tree.write(path, zip_bytes(members), "planted")
    tree.plant("slack-bot-token", f"{path}!src/alerts/settings.py", [token], "archive")

    kid, sec = gen.aws_key_id(), gen.aws_secret()
    inner = zip_bytes(
        [("app/config/prod.env", f"AWS_ACCESS_KEY_ID={kid}\nAWS_SECRET_ACCESS_KEY={sec}\n".encode())]
    )
    path = "backups/release-bundle-2.3.1.tar.gz"
    tree.write(
        path, targz_bytes([("bundle/README.txt", b"release bundle\n"), ("bundle/app.zip", inner)]), "planted"
    )
    tree.plant("aws-pair", f"{path}!bundle/app.zip!app/config/prod.env", [kid, sec], "archive")

    token = gen.github_token()
    path = "logs/old/deploy-2023.log.gz"
    tree.write(
        path,
        gz_bytes(
            (
                lines_text(gen, py_pool, 20_000)
                + f"cloning with https://x-access-token:{token}@github.com/acme/infra.git\n"
            ).encode()
        ),
        "planted",
    )
    tree.plant("github-pat", f"{path}!deploy-2023.log", [token], "archive")

    kid, sec = gen.aws_key_id(), gen.aws_secret()
    path = "tools/windows/setup-aws.ps1"
    text = f'$env:AWS_ACCESS_KEY_ID = "{kid}"\r\n$env:AWS_SECRET_ACCESS_KEY = "{sec}"\r\n'
    tree.write(path, "\ufeff".encode("utf-16-le") + text.encode("utf-16-le"), "planted")
    tree.plant("aws-pair", path, [kid, sec], "utf-16")

    token = gen.gitlab_token()
    path = "tools/windows/clone.bat"
    tree.write(
        path,
        f"@echo off\r\nset GITLAB_TOKEN={token}\r\n"
        # %GITLAB_TOKEN% is a batch variable reference, not a password (keysweep flags it: false positive).
        "git clone https://oauth2:%GITLAB_TOKEN%@gitlab.com/acme/app.git\r\n",  # keysweep:allow
        "planted",
    )
    tree.plant("gitlab-pat", path, [token], "crlf")

    kid, sec = gen.aws_key_id(), gen.aws_secret()
    query = (
        f"aws_access_key_id%3D{kid}%26aws_secret_access_key%3D{sec.replace('/', '%2F').replace('+', '%2B')}"
    )
    path = "logs/gateway/callback.log"
    tree.write(path, f"{gen.timestamp()} WARN callback: GET /hooks/sync?state={query} 400\n", "planted")
    tree.plant("aws-pair", path, [kid, sec], "url-encoded")

    token = gen.stripe_key()
    text = minified_text(gen, render_pool(gen, MINIFIED, 300), 400_000)
    middle = len(text) // 2
    text = text[:middle] + f'stripeKey:"{token}",' + text[middle:]
    path = "web/checkout/dist/pay.3f9a1c2b.min.js"
    tree.write(path, text, "planted")
    tree.plant("stripe-secret-key", path, [token], "minified")


def plant_decoys(tree: Tree) -> None:
    """Values no scanner should report: documentation keys, IAM unique ids, templates, placeholders."""
    gen = tree.gen
    doc_id = "AKIAIOSFODNN7EXAMPLE"  # AWS's documentation pair, whole: every scanner knows it
    doc_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    path = "docs/aws/configure.md"
    tree.write(
        path,
        f"```ini\n[default]\naws_access_key_id = {doc_id}\naws_secret_access_key = {doc_secret}\n```\n",
        "decoys",
    )
    tree.decoy("aws-documentation-key", path, doc_id)
    user_id, role_id = "AIDA" + gen.chars(BASE32, 17), "AROA" + gen.chars(BASE32, 17)
    path = "data/iam/get-user.json"
    tree.write(
        path,
        json.dumps(
            {
                "User": {
                    "UserName": "ci-bot",
                    "UserId": user_id,
                    "Arn": "arn:aws:iam::123456789012:user/ci-bot",
                },
                "RoleId": role_id,
            },
            indent=2,
        )
        + "\n",
        "decoys",
    )
    tree.decoy("iam-unique-id", path, user_id)
    tree.decoy("iam-unique-id", path, role_id)
    path = "deploy/ci/release.yaml"
    tree.write(
        path,
        "env:\n  AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n"
        "  aws_secret_access_key: ${AWS_SECRET_ACCESS_KEY}\n",
        "decoys",
    )
    tree.decoy("template-reference", path, "${AWS_SECRET_ACCESS_KEY}")
    sha = gen.chars(HEX, 40)
    path = "tools/ops/pin.cfg"
    tree.write(path, f"aws_secret_access_key = {sha}\n", "decoys")
    tree.decoy("sha1-hex", path, sha)
    path = "services/payments/.env.example"
    tree.write(
        path,
        "GITHUB_TOKEN=your_token_here\nSTRIPE_API_KEY=sk_live_changeme\nDB_PASSWORD=changeme\n",
        "decoys",
    )
    tree.decoy("placeholder", path, "sk_live_changeme")


def generate(out: Path, size_mb: float, seed: int, mix: str = "mixed") -> dict[str, object]:
    started = time.perf_counter()
    root = out / "tree"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    total = int(size_mb * MIB)
    tree = Tree(root, Gen(seed), total)
    fillers = {
        "source": fill_source,
        "docs": fill_docs,
        "json_config": fill_json_config,
        "json_data": fill_json_data,
        "yaml": fill_yaml,
        "lockfiles": fill_lockfiles,
        "minified": fill_minified,
        "logs": fill_logs,
        "csv": fill_csv,
        "binary": fill_binary,
        "archives": fill_archives,
    }
    budget = MIXES[mix]
    for kind, fill in fillers.items():
        if kind in budget:
            fill(tree, int(total * budget[kind]))
    plant_secrets(tree)
    plant_decoys(tree)
    manifest: dict[str, object] = {
        "generator_version": GENERATOR_VERSION,
        "size_mb": size_mb,
        "seed": seed,
        "mix": mix,
        "tree": str(root),
        "files": tree.files,
        "bytes": tree.written,
        "bytes_by_kind": dict(sorted(tree.by_kind.items())),
        "planted": [vars(p) for p in tree.planted],
        "decoys": tree.decoys,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    manifest["seconds"] = round(time.perf_counter() - started, 2)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="writes OUT_DIR/tree/ and OUT_DIR/manifest.json")
    parser.add_argument(
        "--size-mb", type=float, default=300, help="approximate size of the tree in MiB (default 300)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--mix", choices=sorted(MIXES), default="mixed", help="mixed files (default) or a plain code tree"
    )
    args = parser.parse_args(argv)
    manifest = generate(args.out_dir, args.size_mb, args.seed, args.mix)
    print(
        f"{manifest['tree']}: {manifest['files']:,} files, {int(manifest['bytes']) / MIB:.1f} MiB, "  # type: ignore[call-overload]
        f"{len(manifest['planted'])} planted secrets, {len(manifest['decoys'])} decoys "  # type: ignore[arg-type]
        f"in {manifest['seconds']} s; manifest: {args.out_dir / 'manifest.json'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
