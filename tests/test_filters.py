"""Named suppression filters: each fires on what it names, and only there."""

from __future__ import annotations

import pytest

from scanner.detect import Detector
from scanner.engine import Engine
from scanner.filters import is_identifier_shaped, is_placeholder, is_sha1_hex, is_template_reference
from scanner.model import Blob, Location, SourceKind
from scanner.rules import load_builtin_rules


@pytest.mark.parametrize("value", ["factory_order_format-6306", "request_id_2", "shard_policy-2392"])
def test_identifier_shaped_values(value: str) -> None:
    assert is_identifier_shaped(value)


@pytest.mark.parametrize("value", ["correct-horse-battery-staple", "Zx8Cv7Bn6Mq5Wr4Et3", "p4ss_W0rd!x"])
def test_secrets_are_not_identifier_shaped(value: str) -> None:
    assert not is_identifier_shaped(value)


def test_templates_placeholders_and_hashes() -> None:
    assert is_template_reference("${{ secrets.DEPLOY_TOKEN }}") and is_template_reference("${DB_PASSWORD}")
    assert is_placeholder("your_api_key_here") and is_placeholder("xxxxxxxxxxxx")
    assert is_sha1_hex("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    assert not is_placeholder("Zx8Cv7Bn6Mq5Wr4Et3Yu")


def test_a_generic_token_named_like_code_is_suppressed_with_the_filter_named() -> None:
    detector = Detector(Engine(load_builtin_rules()))
    blob = Blob(Location(SourceKind.FILE, ".", "settings.ini"), b'TOKEN="factory_order_format-6306"\n')
    findings = detector.findings(blob)
    assert findings and all(f.suppressed_by == "identifier-shaped" for f in findings)


def test_a_bare_snake_case_value_is_no_generic_match_at_all() -> None:
    # the generic rules' bare branch refuses names itself: no Finding is built for the thousands of
    # `token = request_id_2` lines of a config-heavy history (it cost most of the scan's Python time)
    detector = Detector(Engine(load_builtin_rules()))
    names = (b"TOKEN=factory_order_format-6306\n", b"secret: request_id_2\n", b"password = db_user_v1.2\n")
    for line in names:
        blob = Blob(Location(SourceKind.FILE, ".", "settings.ini"), line)
        assert detector.findings(blob) == [], line
    real = Blob(Location(SourceKind.FILE, ".", "settings.ini"), b"TOKEN=f4ctory_0rder_Format6306x\n")
    assert [f.suppressed_by for f in detector.findings(real)] == [None]


def test_windows_environment_references_are_templates() -> None:
    assert is_template_reference("%GITLAB_TOKEN%")
    detector = Detector(Engine(load_builtin_rules()))
    blob = Blob(
        Location(SourceKind.FILE, ".", "clone.bat"),
        b"git clone https://oauth2:%GITLAB_TOKEN%@gitlab.example.org/x.git\n",
    )
    assert all(f.suppressed_by for f in detector.findings(blob))
