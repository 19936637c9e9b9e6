"""What hygiene records in the findings database (tables of migration m009): mail sent, remediation.

Opened through `scanner.store.Store.open` (which applies the migrations), then used on its own
connection: the store's API is about findings, this is about hygiene.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType


class LedgerError(Exception):
    """The database cannot be used for hygiene records; a full sentence."""


@dataclass(frozen=True, slots=True)
class SentMail:
    sent_at: datetime
    recipient: str
    subject: str
    digest: str
    transport: str
    status: str
    message_id: str
    results: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Action:
    at: datetime
    action: str  # deactivate | quarantine
    account_id: str
    user_name: str
    key_id: str
    applied: bool
    outcome: str  # planned | done | failed
    detail: str = ""
    actor: str = ""


class Ledger:
    def __init__(self, path: Path) -> None:
        from scanner.store import Store, StoreError

        try:
            Store.open(path).close()  # creates the file if needed and applies every migration
            self._conn = sqlite3.connect(path, timeout=30)
        except (StoreError, sqlite3.Error) as exc:
            raise LedgerError(f"Cannot use the database {path} for hygiene records: {exc}") from exc

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def record_mail(self, mail: SentMail) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT INTO hygiene_mail (sent_at, recipient, subject, digest, transport, status, "
                "message_id, results, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mail.sent_at.isoformat(),
                    mail.recipient,
                    mail.subject,
                    mail.digest,
                    mail.transport,
                    mail.status,
                    mail.message_id,
                    mail.results,
                    mail.detail,
                ),
            )

    def already_sent(self, recipient: str, digest: str, now: datetime, period_days: int) -> bool:
        since = (now - timedelta(days=period_days)).isoformat()
        row = self._conn.execute(
            "SELECT 1 FROM hygiene_mail WHERE recipient = ? AND digest = ? AND status = 'sent' "
            "AND sent_at >= ? LIMIT 1",
            (recipient, digest, since),
        ).fetchone()
        return row is not None

    def mails(self) -> list[SentMail]:
        rows = self._conn.execute(
            "SELECT sent_at, recipient, subject, digest, transport, status, message_id, results, detail "
            "FROM hygiene_mail ORDER BY id"
        ).fetchall()
        return [SentMail(datetime.fromisoformat(r[0]), *r[1:]) for r in rows]

    def record_action(self, action: Action) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT INTO hygiene_actions (at, action, account_id, user_name, key_id, applied, outcome, "
                "detail, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    action.at.isoformat(),
                    action.action,
                    action.account_id,
                    action.user_name,
                    action.key_id,
                    int(action.applied),
                    action.outcome,
                    action.detail,
                    action.actor,
                ),
            )

    def actions(self) -> list[Action]:
        rows = self._conn.execute(
            "SELECT at, action, account_id, user_name, key_id, applied, outcome, detail, actor "
            "FROM hygiene_actions ORDER BY id"
        ).fetchall()
        return [
            Action(datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4], bool(r[5]), *r[6:]) for r in rows
        ]
