"""Delivering the outbox over SMTP: short transactions around the slow part, retries with backoff.

A sender claims a batch of due messages with a lease (one transaction), talks to the SMTP server
with no transaction open, and records each message's outcome in its own transaction right after
the server answered, so a crash re-sends at most the one message in flight. Connection problems
and 4xx answers are transient: the message waits (1 minute, doubling up to 1 hour) and is tried
again, however long the outage. 5xx answers for a message are permanent: it fails with the
server's reason. A message past its `send_before` time expires unsent.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from sqlalchemy import Engine, and_, or_, update
from sqlmodel import col, select

from orchestrator.audit.service import record
from orchestrator.core.clock import utcnow
from orchestrator.core.db import session_scope
from orchestrator.core.settings import Settings
from orchestrator.notifications.models import MailState, OutboxMessage

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=5)
BATCH_SIZE = 50


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand mail over, and who it is from."""

    host: str
    port: int
    mail_from: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings:
        """The installation's SMTP settings (`OPTOUT_SMTP_*`, `OPTOUT_MAIL_FROM`)."""
        password = settings.smtp_password
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            mail_from=settings.mail_from,
            username=settings.smtp_username,
            password=password.get_secret_value() if password is not None else None,
            starttls=settings.smtp_starttls,
        )

    @property
    def envelope_from(self) -> str:
        """The bare sender address of `mail_from`."""
        return parseaddr(self.mail_from)[1] or self.mail_from

    @property
    def domain(self) -> str:
        """The sender's domain, used in Message-IDs and to greet the server."""
        return self.envelope_from.rpartition("@")[2] or "localhost"


@dataclass
class DeliveryReport:
    """What one delivery pass did; `errors` holds each distinct transient or permanent reason."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    expired: int = 0
    errors: list[str] = field(default_factory=list)

    def note(self, error: str) -> None:
        if error not in self.errors:
            self.errors.append(error)


class _TransientError(Exception):
    """The message may go through later (server down, 4xx)."""


class _PermanentError(Exception):
    """The server refused this message for good (5xx)."""


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 1 min, doubling, at most 1 h."""
    doublings = min(max(attempts - 1, 0), 16)  # beyond the cap anyway; keeps the number small
    return min(FIRST_RETRY * 2**doublings, LONGEST_RETRY)


def build_email(message: OutboxMessage, *, smtp: SmtpSettings, now: datetime) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative, and a Message-ID stable across
    retries so a receiving system can drop a duplicate after a crash mid-send."""
    email = EmailMessage()
    email["From"] = smtp.mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = f"<{message.message_id}@{smtp.domain}>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    # Quoted-printable keeps every line short and 7-bit, whatever the server supports.
    email.set_content(message.text_body, cte="quoted-printable")
    email.add_alternative(message.html_body, subtype="html", cte="quoted-printable")
    return email


def deliver_due(
    engine: Engine,
    *,
    smtp: SmtpSettings,
    actor: str = "mailer",
    clock: Callable[[], datetime] = utcnow,
    limit: int = 10_000,
    ignore_backoff: bool = False,
) -> DeliveryReport:
    """Send every due message (at most `limit`); `ignore_backoff` also sends those waiting."""
    report = DeliveryReport()
    attempted: set[int] = set()
    while len(attempted) < limit:
        batch = _claim(
            engine,
            now=clock(),
            size=min(BATCH_SIZE, limit - len(attempted)),
            ignore_backoff=ignore_backoff,
            skip=attempted,
        )
        if not batch:
            break
        attempted.update(message.id for message in batch if message.id is not None)
        _send_batch(engine, batch, smtp=smtp, actor=actor, clock=clock, report=report)
    return report


def _claim(
    engine: Engine, *, now: datetime, size: int, ignore_backoff: bool, skip: set[int]
) -> list[OutboxMessage]:
    due = col(OutboxMessage.state) == MailState.QUEUED
    if not ignore_backoff:
        due = and_(due, col(OutboxMessage.next_attempt_at) <= now)
    free = or_(
        col(OutboxMessage.lease_expires_at).is_(None), col(OutboxMessage.lease_expires_at) < now
    )
    with session_scope(engine) as session:
        candidates = session.exec(
            select(OutboxMessage.id)
            .where(due, free, col(OutboxMessage.id).not_in(skip))
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(size)
        ).all()
        if not candidates:
            return []
        # The WHERE is checked again under the row lock: of two senders racing for a message,
        # exactly one gets it back from RETURNING.
        claimed = (
            session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(candidates), due, free)
                .values(lease_expires_at=now + LEASE)
                .returning(col(OutboxMessage.id))
            )
            .scalars()
            .all()
        )
        messages = session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id).in_(claimed))
            .order_by(col(OutboxMessage.id))
        ).all()
        return list(messages)


@contextmanager
def _connection(smtp: SmtpSettings) -> Iterator[smtplib.SMTP]:
    try:
        client = smtplib.SMTP(
            smtp.host, smtp.port, timeout=smtp.timeout, local_hostname=smtp.domain
        )
    except (OSError, smtplib.SMTPException) as exc:
        raise _TransientError(
            f"cannot connect to {smtp.host}:{smtp.port}: {_describe(exc)}"
        ) from exc
    try:
        try:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise _TransientError(
                f"{smtp.host}:{smtp.port} refused the session: {_describe(exc)}"
            ) from exc
        yield client
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _send_batch(
    engine: Engine,
    batch: Sequence[OutboxMessage],
    *,
    smtp: SmtpSettings,
    actor: str,
    clock: Callable[[], datetime],
    report: DeliveryReport,
) -> None:
    def finish(message: OutboxMessage, state: MailState, error: str | None = None) -> None:
        _finish(engine, message, state, actor=actor, now=clock(), report=report, error=error)

    def defer(messages: Sequence[OutboxMessage], error: Exception) -> None:
        for message in messages:
            _defer(engine, message, actor=actor, now=clock(), report=report, error=error)

    live = []
    for message in batch:
        if message.send_before is not None and clock() > message.send_before:
            finish(message, MailState.EXPIRED)
        else:
            live.append(message)
    if not live:
        return
    try:
        with _connection(smtp) as client:
            for index, message in enumerate(live):
                try:
                    _send_one(client, message, smtp=smtp, now=clock())
                except _PermanentError as exc:
                    finish(message, MailState.FAILED, str(exc))
                except _TransientError as exc:
                    defer(live[index:], exc)  # the connection is unusable: the rest waits too
                    return
                else:
                    finish(message, MailState.SENT)
    except _TransientError as exc:
        defer(live, exc)


def _send_one(
    client: smtplib.SMTP, message: OutboxMessage, *, smtp: SmtpSettings, now: datetime
) -> None:
    email = build_email(message, smtp=smtp, now=now)
    try:
        client.send_message(email, from_addr=smtp.envelope_from, to_addrs=[message.to_address])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()))
        _raise_for_code(code, f"{message.to_address} refused: {code} {_text(reason)}")
    except smtplib.SMTPResponseException as exc:
        _raise_for_code(exc.smtp_code, f"server answered {exc.smtp_code} {_text(exc.smtp_error)}")
    except (OSError, smtplib.SMTPException) as exc:
        raise _TransientError(f"lost the connection to {smtp.host}: {_describe(exc)}") from exc


def _raise_for_code(code: int, reason: str) -> None:
    if 500 <= code < 600:
        raise _PermanentError(reason)
    raise _TransientError(reason)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return str(exc) or type(exc).__name__


def _finish(
    engine: Engine,
    message: OutboxMessage,
    state: MailState,
    *,
    actor: str,
    now: datetime,
    report: DeliveryReport,
    error: str | None = None,
) -> None:
    attempts = message.attempts if state is MailState.EXPIRED else message.attempts + 1
    if state is MailState.EXPIRED:
        error = "not sent before its deadline"
        report.expired += 1
    elif state is MailState.FAILED:
        report.failed += 1
    else:
        report.sent += 1
    values: dict[str, object] = {
        "state": state,
        "attempts": attempts,
        "lease_expires_at": None,
        "last_error": error,
        "sent_at": now if state is MailState.SENT else None,
    }
    data: dict[str, object] = {"kind": message.kind, "to": message.to_address, "attempts": attempts}
    if error:
        report.note(error)
        data["error"] = error
    _record(engine, message, values, actor=actor, action=f"mail.{state}", data=data, now=now)


def _defer(
    engine: Engine,
    message: OutboxMessage,
    *,
    actor: str,
    now: datetime,
    report: DeliveryReport,
    error: Exception,
) -> None:
    attempts = message.attempts + 1
    next_attempt = now + retry_delay(attempts)
    report.deferred += 1
    report.note(str(error))
    values = {
        "attempts": attempts,
        "next_attempt_at": next_attempt,
        "lease_expires_at": None,
        "last_error": str(error)[:2000],
    }
    data = {
        "kind": message.kind,
        "to": message.to_address,
        "attempts": attempts,
        "error": str(error),
        "next_attempt_at": next_attempt,
    }
    _record(engine, message, values, actor=actor, action="mail.deferred", data=data, now=now)


def _record(
    engine: Engine,
    message: OutboxMessage,
    values: dict[str, object],
    *,
    actor: str,
    action: str,
    data: dict[str, object],
    now: datetime,
) -> None:
    with session_scope(engine) as session:
        session.exec(
            update(OutboxMessage).where(col(OutboxMessage.id) == message.id).values(**values)
        )
        assert message.id is not None
        record(
            session,
            actor=actor,
            action=action,
            subject_type="mail",
            subject_id=message.id,
            data=data,
            now=now,
        )
