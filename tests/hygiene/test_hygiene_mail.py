"""Digests mailed to owners: a real SMTP server (aiosmtpd) on loopback, with AUTH and with STARTTLS; Amazon
SES in moto; the dry-run directory; no duplicate for an unchanged situation within the period; every
message recorded in the database."""

from __future__ import annotations

import email
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from hygiene.config import load_config
from hygiene.ledger import Ledger
from hygiene.mail import DirectoryTransport, SesTransport, SmtpTransport, deliver, digests
from hygiene.model import AccessKey, AccountInventory, Inventory, Root, User, frozen_map
from hygiene.run import evaluate

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
ACCOUNT = "111122223333"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sink:
    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed: EmailMessage = email.message_from_bytes(envelope.content, policy=default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def start_smtp(sink: Sink, **kwargs: Any) -> Any:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = data.login == b"keysweep" and data.password == b"s3cret-pass"
        if ok:
            sink.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    controller = Controller(
        sink, hostname="127.0.0.1", port=free_port(), authenticator=authenticator, **kwargs
    )
    controller.start()
    return controller


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    controller = start_smtp(sink, auth_require_tls=False)
    yield sink, controller.port
    controller.stop()


def world(rotation_age: int = 400) -> Inventory:
    def user(name: str, tags: dict[str, str], *keys: AccessKey) -> User:
        return User(
            name,
            f"arn:aws:iam::{ACCOUNT}:user/{name}",
            NOW - timedelta(days=500),
            frozen_map(tags),
            (),
            (),
            False,
            None,
            (),
            keys,
        )

    alice = user(
        "alice",
        {"owner": "alice@example.org"},
        AccessKey(
            "AKIAALICE0000000001",
            "alice",
            "Active",
            NOW - timedelta(days=rotation_age),
            NOW - timedelta(days=1),
            "ec2",
            "eu-west-1",
        ),
    )
    bob = user(
        "bob",
        {"email": "bob@example.org"},
        AccessKey("AKIABOB000000000001", "bob", "Active", NOW - timedelta(days=10), None),
    )
    carol = user(
        "carol",
        {},
        AccessKey(
            "AKIACAROL000000001",
            "carol",
            "Active",
            NOW - timedelta(days=5),
            NOW - timedelta(days=1),
            "s3",
            "eu-west-1",
        ),
    )
    root = Root(f"arn:aws:iam::{ACCOUNT}:root", 0, True, True, (), None, None)
    return Inventory(NOW, (AccountInventory(ACCOUNT, "prod", (alice, bob, carol), root, None),)).with_leaks(
        {}
    )


def report(rotation_age: int = 400) -> Any:
    return evaluate(world(rotation_age), load_config(), NOW).report


def smtp_transport(port: int, **kwargs: Any) -> SmtpTransport:
    options: dict[str, Any] = {
        "starttls": False,
        "username": "keysweep",
        "password": "s3cret-pass",
        "timeout": 10,
    }
    options.update(kwargs)
    return SmtpTransport("127.0.0.1", port, **options)


def test_each_owner_gets_only_their_keys_over_smtp(smtp: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp
    with Ledger(tmp_path / "ks.db") as ledger:
        outcomes = deliver(report(), load_config(), smtp_transport(port), ledger, NOW)
        recorded = ledger.mails()
    assert sorted(o.recipient for o in outcomes if o.status == "sent") == [
        "alice@example.org",
        "bob@example.org",
        "security@example.org",
    ]
    assert sink.logins == ["keysweep"] * 3
    by_rcpt = {rcpts[0]: message for _, rcpts, message in sink.messages}
    alice = by_rcpt["alice@example.org"]
    assert alice["From"] == "keysweep@example.org"
    assert "AWS key hygiene problem" in str(alice["Subject"])
    text = alice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = alice.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "AKIAALICE0000000001" in text and "key_rotation" in text
    assert "AKIABOB000000000001" not in text and "AKIABOB000000000001" not in html
    assert "<svg" in html and "instance profile" in html
    assert "aws iam update-access-key --user-name alice --access-key-id AKIAALICE0000000001" in html
    bob = by_rcpt["bob@example.org"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "AKIABOB000000000001" in bob and "key_never_used" in bob and "AKIAALICE" not in bob
    assert {m.recipient for m in recorded} == {"alice@example.org", "bob@example.org", "security@example.org"}
    assert {m.status for m in recorded} == {"sent"} and all(m.transport == "smtp" for m in recorded)


def test_no_duplicate_mail_for_an_unchanged_situation(smtp: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp
    config = load_config()
    with Ledger(tmp_path / "ks.db") as ledger:
        deliver(report(), config, smtp_transport(port), ledger, NOW)
        again = deliver(report(), config, smtp_transport(port), ledger, NOW + timedelta(days=1))
        assert {o.status for o in again} == {"skipped"}
        assert len(sink.messages) == 3
        # alice's situation changes (a new problem): she is mailed again, bob (unchanged) is not
        changed = replace(config, thresholds={**config.thresholds, "key_unused_days": 0})
        third = deliver(evaluate(world(), changed, NOW).report, changed, smtp_transport(port), ledger, NOW)
        sent = {o.recipient for o in third if o.status == "sent"}
        assert "alice@example.org" in sent and "bob@example.org" not in sent
        # after the period, the same digest goes out again
        later = deliver(report(), config, smtp_transport(port), ledger, NOW + timedelta(days=8))
        assert {o.status for o in later} == {"sent"}


def test_wrong_password_is_a_failed_and_recorded_mail(smtp: tuple[Sink, int], tmp_path: Path) -> None:
    _, port = smtp
    with Ledger(tmp_path / "ks.db") as ledger:
        outcomes = deliver(report(), load_config(), smtp_transport(port, password="nope"), ledger, NOW)
        assert {o.status for o in outcomes} == {"failed"}
        assert "535" in outcomes[0].detail or "Authentication" in outcomes[0].detail
        assert {m.status for m in ledger.mails()} == {"failed"}


def test_starttls_is_required_when_configured(smtp: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp  # this server offers no STARTTLS
    outcomes = deliver(report(), load_config(), smtp_transport(port, starttls=True), None, NOW)
    assert {o.status for o in outcomes} == {"failed"} and "STARTTLS" in outcomes[0].detail
    assert sink.messages == []


def test_starttls_then_auth(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    sink = Sink()
    controller = start_smtp(sink, tls_context=server_context, require_starttls=True)
    try:
        client_context = ssl.create_default_context(cafile=str(cert))
        transport = smtp_transport(controller.port, starttls=True, context=client_context)
        outcomes = deliver(report(), load_config(), transport, None, NOW)
    finally:
        controller.stop()
    assert {o.status for o in outcomes} == {"sent"} and len(sink.messages) == 3
    assert sink.logins == ["keysweep"] * 3


def test_dry_run_writes_eml_files_and_records_nothing(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    with Ledger(tmp_path / "ks.db") as ledger:
        outcomes = deliver(report(), load_config(), DirectoryTransport(out), ledger, NOW)
        assert ledger.mails() == []
    assert {o.status for o in outcomes} == {"written"}
    files = sorted(p.name for p in out.iterdir())
    assert files == ["alice@example.org.eml", "bob@example.org.eml", "security@example.org.eml"]
    parsed = email.message_from_bytes((out / "alice@example.org.eml").read_bytes(), policy=default)
    assert parsed["To"] == "alice@example.org"


def test_ses_in_moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws
    from moto.ses.models import ses_backends

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("ses", region_name="us-east-1")
        client.verify_email_identity(EmailAddress="keysweep@example.org")
        with Ledger(tmp_path / "ks.db") as ledger:
            outcomes = deliver(report(), load_config(), SesTransport(client), ledger, NOW)
            assert {m.transport for m in ledger.mails()} == {"ses"}
        sent = ses_backends["123456789012"]["us-east-1"].sent_messages
        assert {o.status for o in outcomes} == {"sent"}
        assert sorted({d for m in sent for d in m.destinations}) == [
            "alice@example.org",
            "bob@example.org",
            "security@example.org",
        ]
        alice = next(m for m in sent if "alice@example.org" in m.destinations)
        parsed = email.message_from_string(alice.raw_data, policy=default)
        assert "AKIAALICE0000000001" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_ses_refusal_is_a_failed_mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("ses", region_name="us-east-1")  # the sender is not verified
        outcomes = deliver(report(), load_config(), SesTransport(client), None, NOW)
    assert {o.status for o in outcomes} == {"failed"} and "SES refused" in outcomes[0].detail


def test_digests_carry_errors_too() -> None:
    inventory = Inventory(NOW, (AccountInventory(ACCOUNT, "prod", gaps=()),)).with_leaks({}, "no database")
    found = digests(evaluate(inventory, load_config(), NOW).report, load_config())
    assert [d.recipient for d in found] == ["security@example.org"]
    assert "ERROR" in found[0].report.title or any(r.status.value == "ERROR" for r in found[0].report.results)
