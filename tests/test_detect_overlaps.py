"""The detector reports one finding per secret: a specific rule wins over a generic one on the same span."""

from __future__ import annotations

from scanner.detect import Detector
from scanner.engine import Engine
from scanner.model import Blob, Location, SourceKind
from scanner.rules import load_builtin_rules

TOKEN = (
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDkq8Zr3Tn5mW2pQ7xV9sB4cN1yH6jF0gL8tR2uE5wA3oIgXk9L"
    "z7Yb2Vc4Nm1Qp8Rs6Tu3Wv5Xy0Za7Bc9De2Fg4"
)


def test_a_session_token_is_reported_once_by_its_specific_rule() -> None:
    detector = Detector(Engine(load_builtin_rules()))
    blob = Blob(Location(SourceKind.FILE, ".", "creds"), f"aws_session_token = {TOKEN}\n".encode())
    reported = [f.rule_id for f in detector.findings(blob) if not f.suppressed_by]
    assert reported == ["aws-session-token"]
