"""Text decoding through `expand`: UTF-16/32, base64 values, URL-encoded segments, junk."""

from __future__ import annotations

import base64
import os
import struct
import zlib
from urllib.parse import quote

import pytest

from scanner.decode import expand, gate, text
from scanner.detect import Detector
from scanner.engine import Engine
from scanner.model import Blob, Finding, Location, Skipped, SkipReason, SourceKind
from scanner.rules import load_builtin_rules
from scanner.sources.interface import Limits

KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
SECRET = "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"
ENV = f"# deploy settings\n\nAWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(Engine(load_builtin_rules()))


def b64(value: str | bytes) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


def blob_of(data: bytes, name: str = "file.txt") -> Blob:
    return Blob(Location(SourceKind.FILE, "/repo", name), data)


def run(
    detector: Detector, data: bytes, name: str = "file.txt"
) -> tuple[list[Blob], list[Finding], list[Skipped]]:
    blobs: list[Blob] = []
    skipped: list[Skipped] = []
    for item in expand(blob_of(data, name), Limits()):
        (skipped if isinstance(item, Skipped) else blobs).append(item)  # type: ignore[arg-type]
    # the AWS findings are what these tests are about (other rules may also fire on the made-up data)
    findings = [
        f for b in blobs for f in detector.findings(b) if f.rule_id.startswith("aws-") and not f.suppressed_by
    ]
    return blobs, findings, skipped


def only_pair(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    [finding] = findings
    assert finding.key_id == KEY_ID and finding.secret_found is True and finding.secret == SECRET
    return finding


def test_ordinary_text_is_yielded_alone_and_not_copied(detector: Detector) -> None:
    blob = blob_of(b"def main():\n    return compute_the_thing(argument_one, argument_two)  # 100%\n" * 50)
    assert list(expand(blob, Limits())) == [blob]
    assert next(iter(expand(blob, Limits()))) is blob


def test_a_kubernetes_secret_gives_one_paired_finding_at_the_line_of_the_value(detector: Detector) -> None:
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: deploy\ntype: Opaque\ndata:\n"
        f"  AWS_ACCESS_KEY_ID: {b64(KEY_ID)}\n"
        f"  REGION: {b64('eu-west-1')}\n"
        f"  AWS_SECRET_ACCESS_KEY: {b64(SECRET)}\n"
    )
    _, findings, skipped = run(detector, manifest.encode(), "secret.yaml")
    finding = only_pair(findings)
    assert not skipped
    assert (finding.line, finding.column) == (7, 22)
    assert finding.encoding == ("base64",)


def test_json_secret_values_and_base64url_decode_too(detector: Detector) -> None:
    urlsafe = base64.urlsafe_b64encode(f"{KEY_ID}\n{SECRET}".encode()).decode().rstrip("=")
    document = f'{{\n  "kind": "Secret",\n  "data": {{"credentials": "{urlsafe}"}}\n}}\n'
    _, findings, _ = run(detector, document.encode(), "secret.json")
    assert only_pair(findings).line == 3


def test_a_base64_env_file_in_a_ci_variable_is_found_at_the_variable(detector: Detector) -> None:
    pipeline = f"stages: [deploy]\nvariables:\n  DOTENV: {b64(ENV)}\n"
    blobs, findings, _ = run(detector, pipeline.encode(), ".gitlab-ci.yml")
    finding = only_pair(findings)
    assert (finding.line, finding.column) == (3, 11)
    assert finding.encoding == ("base64",)
    assert [b.anchor for b in blobs[1:]] == [(3, 11)]


def test_wrapped_base64_from_a_shell_pipeline_is_joined(detector: Detector) -> None:
    encoded = base64.encodebytes(("# credentials\n" * 8 + ENV).encode()).decode()  # 76 columns
    assert encoded.count("\n") > 2
    script = f"#!/bin/sh\ncat <<EOF | base64 -d > .env\n{encoded}EOF\n"
    _, findings, _ = run(detector, script.encode(), "setup.sh")
    assert only_pair(findings).line == 3


def test_base64_inside_base64_is_decoded_once_more(detector: Detector) -> None:
    twice = b64(b64(ENV))
    _, findings, _ = run(detector, f"deploy_token_b64 = {twice}\n".encode())
    assert only_pair(findings).encoding == ("base64", "base64")


def test_binary_base64_is_not_yielded(detector: Detector) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(3000)
    page = (
        f'<img src="data:image/png;base64,{b64(png)}">\n'
        f'"integrity": "sha512-{b64(os.urandom(64))}",\n'
        f"secret_hash: {b64(os.urandom(32))}\n"
        f"token = {b64(zlib.compress(os.urandom(100)))}\n"
    ).encode()
    blobs, findings, skipped = run(detector, page, "index.html")
    assert len(blobs) == 1 and not findings and not skipped


def test_an_inline_allow_comment_holds_for_the_decoded_value(detector: Detector) -> None:
    manifest = f"kind: Secret\ndata:\n  AWS_ACCESS_KEY_ID: {b64(KEY_ID)}  # keysweep:allow\n"
    blobs, _, _ = run(detector, manifest.encode())
    findings = [f for b in blobs for f in detector.findings(b) if f.rule_id.startswith("aws-")]
    assert [f.suppressed_by for f in findings] == ["inline-allow"]


def test_decoding_stops_at_its_cap_and_says_so(detector: Detector) -> None:
    lines = "".join(f"password_{i}: {b64(f'a text value number {i:04d} here')}\n" for i in range(300))
    blobs, _, skipped = run(detector, lines.encode())
    decoded = sum(b.data.count(b"a text value") for b in blobs[1:])
    assert decoded == 256
    [cap] = skipped
    assert cap.reason is SkipReason.ARCHIVE_LIMIT and "cap" in cap.detail


@pytest.mark.parametrize(
    ("encode", "tag"),
    [
        (lambda t: b"\xff\xfe" + t.encode("utf-16-le"), "utf-16le"),
        (lambda t: b"\xfe\xff" + t.encode("utf-16-be"), "utf-16be"),
        (lambda t: t.encode("utf-16-le"), "utf-16le"),
        (lambda t: t.encode("utf-16-be"), "utf-16be"),
        (lambda t: t.encode("utf-32"), "utf-32le"),
    ],
)
def test_utf16_and_utf32_text_is_transcoded_with_lines_kept(
    detector: Detector, encode: object, tag: str
) -> None:
    document = "[default]\r\nregion = eu-west-1\r\naws_access_key_id = " + KEY_ID + "\r\n"
    document += "aws_secret_access_key = " + SECRET + "\r\n"
    blobs, findings, _ = run(detector, encode(document), "credentials")  # type: ignore[operator]
    finding = only_pair(findings)
    assert (finding.line, finding.column) == (3, 21)
    assert finding.encoding == (tag,)
    assert len(blobs) == 1  # the transcoding replaces the raw bytes


def test_a_url_encoded_query_string_is_decoded(detector: Detector) -> None:
    query = f"aws_access_key_id={KEY_ID}&aws_secret_access_key={SECRET}"
    log = f'10.0.0.1 - - "GET /hook?{quote(query, safe="")} HTTP/1.1" 200\n'
    _, findings, _ = run(detector, f"first line\n{log}".encode(), "access.log")
    finding = only_pair(findings)
    assert finding.encoding == ("url",)
    assert (finding.line, finding.column) == (2, 19)  # where `/hook?...` starts


def test_an_encoded_secret_after_a_plain_key_id_pairs_in_the_decoded_segment(detector: Detector) -> None:
    url = f"https://example.net/cb?id={KEY_ID}&aws_secret_access_key%3D{quote(SECRET, safe='')}\n"
    _, findings, _ = run(detector, url.encode())
    assert any(f.secret_found for f in findings)


def test_invalid_utf8_and_random_bytes_give_nothing(detector: Detector) -> None:
    for seed in range(30):
        junk = os.urandom(200 + seed * 101)
        blobs, findings, skipped = run(detector, junk, "junk.bin")
        assert blobs[0].data == junk and not findings
        assert all(s.reason is not SkipReason.ERROR for s in skipped)
    broken = b"caf\xc3 \xff\xfe not utf-8 \xed\xa0\x80 " + b"%3D%ZZ%" * 10 + b"\x00" * 10
    blobs, findings, skipped = run(detector, broken, "broken.txt")
    assert blobs[0].data == broken and not findings and not skipped


def test_nul_heavy_binary_is_not_mistaken_for_utf16(detector: Detector) -> None:
    binary = struct.pack("<64I", *range(64))
    assert text.transcode(blob_of(binary)) is None


def test_expand_turns_a_bug_into_a_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(_self: object, _data: bytes) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(gate.Gate, "scan", explode)
    blob = blob_of(b"an ordinary line of text, long enough to be looked at\n")
    first, failure = list(expand(blob, Limits()))
    assert first is blob  # what was already yielded stands
    assert isinstance(failure, Skipped) and failure.reason is SkipReason.ERROR and "boom" in failure.detail


def test_base64_decoding_can_be_turned_off(detector: Detector) -> None:
    data = f"kind: Secret\ndata:\n  AWS_ACCESS_KEY_ID: {b64(KEY_ID)}\n".encode()
    items = list(expand(blob_of(data), Limits(decode_base64=False)))
    assert len(items) == 1


def test_a_marker_makes_every_text_run_count_even_under_a_name_that_tells_nothing() -> None:
    url = "postgres://app:Zq8xW3vN5tR7yB2m@db.internal:5432/app"
    manifest = f"kind: Secret\ndata:\n  DATABASE_URL: {b64(url)}\n".encode()
    blobs = [item for item in expand(blob_of(manifest), Limits()) if isinstance(item, Blob)]
    assert len(blobs) == 2 and url.encode() in blobs[1].data
    assert blobs[1].first_line == 3
    plain = f"settings:\n  DATABASE_URL: {b64(url)}\n".encode()  # no marker, no telltale: left alone
    assert len(list(expand(blob_of(plain), Limits()))) == 1


def test_the_regex_gate_decodes_the_same_as_hyperscan(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = (
        f"kind: Secret\ndata:\n  AWS_ACCESS_KEY_ID: {b64(KEY_ID)}\n  blob: {b64(ENV)}\n"
        "url: https://h/?a%3Db%26c%3Dd\n"
    ).encode()
    fast = list(expand(blob_of(sample), Limits()))
    assert len(fast) == 4
    monkeypatch.setattr(gate, "HAVE_HYPERSCAN", False)
    monkeypatch.setattr(gate, "_GATE", None)
    assert list(expand(blob_of(sample), Limits())) == fast


def test_hex_digests_and_names_under_secret_like_names_cost_no_decoding_attempts(detector: Detector) -> None:
    """Lock files, indexes and YAML hold thousands of `"token_index": "<40 hex>"` and `token_queue:
    tracker_stage_kernel` lines: they are not looked at as base64 (base64 of text never starts with
    20 hex digits, nor with a snake_case name), so they cannot use up the attempts cap before a real
    encoded secret further down."""
    digests = "".join(f'"token_index_{n}": "{n:040x}",\n' for n in range(2500))
    digests += "".join(f"token_queue_{n}: tracker_stage_kernel_{n}\n" for n in range(2500))  # 5,000 > 4,096
    data = (digests + f"AWS_ACCESS_KEY_ID: {b64(KEY_ID)}\nAWS_SECRET_ACCESS_KEY: {b64(SECRET)}\n").encode()
    _, findings, skipped = run(detector, data, "index.json")
    assert not skipped  # no cap reached
    assert only_pair(findings).line == 5001
