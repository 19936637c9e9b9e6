"""Mailing each owner a digest of only their results: SMTP (STARTTLS, auth), Amazon SES, or a directory of
.eml files (`--dry-run`). An owner whose digest is unchanged since a mail sent within [mail] period_days
is not mailed again; every message sent (or refused) is recorded in the database (`hygiene.ledger`).

A digest holds an owner's FAIL and ERROR results (ERROR too: "we could not check your keys" is news) and
the recommendations for their keys. Its identity (`digest`) is a hash of the (check, resource, status) it
carries, so a new problem, a fixed one or a changed status makes a new mail.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

from hygiene.config import HygieneConfig
from hygiene.ledger import Ledger, SentMail
from hygiene.model import Status
from hygiene.report import Report, render


class MailError(Exception):
    """A message could not be sent; a full sentence."""


@dataclass(frozen=True)
class Digest:
    recipient: str
    subject: str
    digest: str
    results: int
    report: Report


@dataclass(frozen=True)
class Outcome:
    recipient: str
    subject: str
    status: str  # sent | skipped | written | failed
    detail: str = ""
    message_id: str = ""


class Transport(Protocol):
    name: str

    def send(self, message: EmailMessage) -> str:
        """Send `message`; return a message id. Raise MailError."""
        ...


def digests(report: Report, config: HygieneConfig) -> list[Digest]:
    owners = sorted({r.owner for r in report.results if r.owner and r.status in (Status.FAIL, Status.ERROR)})
    template = str(config.mail["subject"])
    out: list[Digest] = []
    for owner in owners:
        mine = report.for_owner(owner)
        problems = sorted(
            f"{r.check_id}|{r.account_id}|{r.resource}|{r.status.value}"
            for r in mine.results
            if r.status in (Status.FAIL, Status.ERROR)
        )
        digest = hashlib.sha256("\n".join(problems).encode()).hexdigest()
        subject = template.format(count=len(problems), owner=owner)
        out.append(Digest(owner, subject, digest, len(problems), mine))
    return out


def compose(digest: Digest, sender: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = digest.recipient
    message["Subject"] = digest.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "keysweep")
    message["X-Keysweep-Digest"] = digest.digest
    message.set_content(render(digest.report, "text", "account", show_passed=False))
    message.add_alternative(render(digest.report, "html", "account", show_passed=False), subtype="html")
    return message


class SmtpTransport:
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.starttls = host, port, starttls
        self.username, self.password, self.timeout = username, password, timeout
        self.context = context or ssl.create_default_context()

    @classmethod
    def from_config(cls, config: HygieneConfig) -> SmtpTransport:
        m = config.mail
        password = os.environ.get(str(m["smtp_password_env"])) if m["smtp_password_env"] else None
        return cls(
            str(m["smtp_host"]),
            int(m["smtp_port"]),
            starttls=bool(m["smtp_starttls"]),
            username=str(m["smtp_username"]) or None,
            password=password,
            timeout=float(m["smtp_timeout"]),
        )

    def send(self, message: EmailMessage) -> str:
        where = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    if not smtp.has_extn("starttls"):
                        raise MailError(f"The SMTP server {where} does not offer STARTTLS; refusing to send.")
                    smtp.starttls(context=self.context)
                    smtp.ehlo()
                if self.username:
                    if self.password is None:
                        raise MailError(f"An SMTP user is set but no password was given for {where}.")
                    methods = str(smtp.esmtp_features.get("auth", "")).upper().split()
                    if "PLAIN" in methods:  # one mechanism: a refused password fails at once
                        smtp.user, smtp.password = self.username, self.password
                        smtp.auth("PLAIN", smtp.auth_plain)
                    else:
                        smtp.login(self.username, self.password)
                smtp.send_message(message)
        except MailError:
            raise
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise MailError(f"Sending to {message['To']} through {where} failed: {exc}.") from exc
        return str(message["Message-ID"])


class SesTransport:
    name = "ses"

    def __init__(self, client: Any, configuration_set: str = "") -> None:
        self.client = client
        self.configuration_set = configuration_set

    def send(self, message: EmailMessage) -> str:
        kwargs: dict[str, Any] = {
            "Source": str(message["From"]),
            "Destinations": [str(message["To"])],
            "RawMessage": {"Data": message.as_bytes()},
        }
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        try:
            answer = self.client.send_raw_email(**kwargs)
        except Exception as exc:
            from scanner.aws.errors import failure_of

            raise MailError(
                f"SES refused the mail to {message['To']}: {failure_of(exc, 'ses:SendRawEmail').reason}."
            ) from exc
        return str(answer.get("MessageId", ""))


class DirectoryTransport:
    """`--dry-run`: each message becomes an .eml file in `directory` (nothing is sent or recorded)."""

    name = "dry-run"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "@._-" else "_" for c in str(message["To"]))
        path = self.directory / f"{safe}.eml"
        path.write_bytes(message.as_bytes())
        return str(path)


def deliver(
    report: Report,
    config: HygieneConfig,
    transport: Transport,
    ledger: Ledger | None,
    now: datetime,
    *,
    force: bool = False,
) -> list[Outcome]:
    """Send each owner's digest through `transport`, skipping unchanged digests sent within the period.
    With a DirectoryTransport nothing is recorded; otherwise every attempt is."""
    period = int(config.mail["period_days"])
    sender = str(config.mail["sender"])
    dry = isinstance(transport, DirectoryTransport)
    outcomes: list[Outcome] = []
    for digest in digests(report, config):
        if (
            not force
            and ledger is not None
            and ledger.already_sent(digest.recipient, digest.digest, now, period)
        ):
            outcomes.append(
                Outcome(
                    digest.recipient,
                    digest.subject,
                    "skipped",
                    f"the same digest was sent within the last {period} day(s)",
                )
            )
            continue
        message = compose(digest, sender, now)
        try:
            message_id = transport.send(message)
        except MailError as exc:
            outcomes.append(Outcome(digest.recipient, digest.subject, "failed", str(exc)))
            if ledger is not None and not dry:
                ledger.record_mail(
                    SentMail(
                        now,
                        digest.recipient,
                        digest.subject,
                        digest.digest,
                        transport.name,
                        "failed",
                        "",
                        digest.results,
                        str(exc),
                    )
                )
            continue
        status = "written" if dry else "sent"
        outcomes.append(Outcome(digest.recipient, digest.subject, status, "", message_id))
        if ledger is not None and not dry:
            ledger.record_mail(
                SentMail(
                    now,
                    digest.recipient,
                    digest.subject,
                    digest.digest,
                    transport.name,
                    "sent",
                    message_id,
                    digest.results,
                )
            )
    return outcomes


def summary(outcomes: Sequence[Outcome]) -> str:
    from collections import Counter

    counts = Counter(o.status for o in outcomes)
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to send"
