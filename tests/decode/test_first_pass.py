"""The shared first pass: the rules' database carries the decode gate's patterns, and one hyperscan pass
over a top-level blob must give exactly what the two separate passes give."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import pytest

from scanner.decode.gate import MAX_GATE_HITS, Hits, engine_extras, gate
from scanner.engine import Engine
from scanner.firstpass import FirstPass
from scanner.model import Blob, Location, SourceKind
from scanner.pipeline import ScanSettings, scan_sources
from scanner.rules import load_builtin_rules
from scanner.sources.files import FileSource

KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
SECRET = "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"


@pytest.fixture(scope="module")
def engines() -> tuple[Engine, Engine]:
    rules = load_builtin_rules()
    return Engine(rules, extras=engine_extras()), Engine(rules)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SAMPLES = [
    b"",
    b"plain code, nothing to see: def main(): return 1\n" * 40,
    f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n".encode(),
    f"kind: Secret\ndata:\n  KEY: {b64(KEY_ID)}\n  SECRET: {b64(SECRET)}\n".encode(),
    f"url = https://example.org/login?next={quote('/a?token=' + SECRET, safe='')}\n".encode(),
    f"echo {b64('aws_secret_access_key = ' + SECRET)} | base64 -d\n".encode(),
    f'{{"auths": {{"registry": {{"auth": "{b64("user:" + SECRET)}"}}}}}}\n'.encode(),
    ("%2F" * (MAX_GATE_HITS + 500)).encode(),  # past the gate's cap: truncated the same way
]


def hits_tuple(hits: Hits) -> tuple[object, ...]:
    return (hits.pct, hits.inner, hits.starts, hits.marker, hits.truncated)


@pytest.mark.parametrize("data", SAMPLES, ids=range(len(SAMPLES)))
def test_one_pass_gives_the_gates_hits_and_the_rules_windows(
    engines: tuple[Engine, Engine], data: bytes
) -> None:
    shared, rules_only = engines
    first = FirstPass(shared, gate())
    hits = first.gate_hits(data)
    assert hits_tuple(hits) == hits_tuple(gate().scan(data))
    blob = Blob(Location(SourceKind.FILE, "/r", "f"), data)
    assert first.windows_for(blob) == rules_only.candidate_windows(data)
    assert shared.scan(data, windows=first.windows_for(blob)) == rules_only.scan(data)


def test_windows_are_only_given_for_the_bytes_just_scanned(engines: tuple[Engine, Engine]) -> None:
    first = FirstPass(engines[0], gate())
    data = f"AWS_SECRET_ACCESS_KEY={SECRET}\n".encode()
    first.gate_hits(data)
    other = Blob(Location(SourceKind.FILE, "/r", "g"), bytes(bytearray(data)))  # equal, not the same
    assert first.windows_for(other) is None
    first.forget()
    assert first.windows_for(Blob(Location(SourceKind.FILE, "/r", "f"), data)) is None


def test_an_engine_without_the_gates_patterns_falls_back_to_the_gates_own_pass(
    engines: tuple[Engine, Engine],
) -> None:
    first = FirstPass(engines[1], gate())
    data = f"kind: Secret\ndata:\n  SECRET: {b64(SECRET)}\n".encode()
    assert hits_tuple(first.gate_hits(data)) == hits_tuple(gate().scan(data))
    assert first.windows_for(Blob(Location(SourceKind.FILE, "/r", "f"), data)) is None


def test_a_scan_finds_plain_and_base64_keys_through_the_shared_pass(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text(
        f"kind: Secret\ndata:\n  AWS_ACCESS_KEY_ID: {b64(KEY_ID)}\n  AWS_SECRET_ACCESS_KEY: {b64(SECRET)}\n"
    )
    (tmp_path / "plain.env").write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n")
    result = scan_sources([FileSource(tmp_path)], ScanSettings(rules=tuple(load_builtin_rules())))
    found = {(f.location.path, f.key_id, f.secret_found) for f in result.findings}
    assert ("secret.yaml", KEY_ID, True) in found
    assert ("plain.env", KEY_ID, True) in found
