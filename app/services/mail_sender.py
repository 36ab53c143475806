"""Handing messages to the organisation's mail server over SMTP, and recording each try."""

import asyncio
import ipaddress
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from sqlalchemy import update
from sqlmodel import col

from app.config import Settings
from app.db import Database
from app.models.base import utcnow
from app.models.mail import Message, MessageKind, MessageState
from app.services import later_mail, mail, mail_causes, outbox, privacy

log = logging.getLogger("openspace.mail")

SMTP_TIMEOUT_SECONDS = 30
# A sender holding a claim this long gives back the messages it has not tried yet: one more
# (however slowly the server answers) still fits in the claim, and no other sender takes a
# message before its claim runs out, so none is sent by two at once.
HAND_BACK_AFTER = outbox.LEASE / 3
# How often a process plans reminders (they fall due by the day, not the second).
PLAN_EVERY_SECONDS = 60


class Refusal(Exception):
    """The server answered a message with an error code (5xx: for good; 4xx: for now)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600


class ServerFault(Exception):
    """The mail server cannot be used as set (no TLS where a password would travel, say)."""


def _answer(code: int, text: bytes | str) -> str:
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(reply.split())}"


def _is_this_machine(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(settings: Settings) -> smtplib.SMTP:
    """A signed-in connection to the configured server: TLS from the start (smtps://) or
    after STARTTLS (smtp://; a server on this machine may do without)."""
    url = urlsplit(settings.smtp_url)
    host = url.hostname or ""
    local_name = urlsplit(settings.base_url).hostname or "localhost"
    context = ssl.create_default_context()
    connection: smtplib.SMTP
    if url.scheme == "smtps":
        connection = smtplib.SMTP_SSL(
            host,
            url.port or 465,
            local_hostname=local_name,
            timeout=SMTP_TIMEOUT_SECONDS,
            context=context,
        )
    elif url.scheme == "smtp":
        connection = smtplib.SMTP(
            host, url.port or 587, local_hostname=local_name, timeout=SMTP_TIMEOUT_SECONDS
        )
        connection.ehlo()
        if connection.has_extn("starttls"):
            connection.starttls(context=context)
            connection.ehlo()
        elif not _is_this_machine(host):
            connection.close()
            raise ServerFault(f"{host} offers no STARTTLS: mail would travel unencrypted")
    else:
        raise ServerFault("OPENSPACE_SMTP_URL must start with smtp:// or smtps://")
    if url.username:
        connection.login(unquote(url.username), unquote(url.password or ""))
    return connection


def deliver(connection: smtplib.SMTP, settings: Settings, email: EmailMessage) -> str:
    """Hand one message over; the server's answer, or Refusal with it."""
    envelope_from = parseaddr(settings.mail_from)[1]
    recipient = email["To"].addresses[0].addr_spec
    text: bytes | str
    code, text = connection.mail(envelope_from)
    if code == 250:
        code, text = connection.rcpt(recipient)
        if code in (250, 251):
            try:
                code, text = connection.data(email.as_bytes(policy=SMTP_POLICY))
            except smtplib.SMTPDataError as refused:  # DATA itself refused
                code, text = refused.smtp_code, refused.smtp_error
    if code != 250:
        connection.rset()
        raise Refusal(code, _answer(code, text).partition(" ")[2])
    return _answer(code, text)


@dataclass
class Outcome:
    """What one pass of the sender did."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def send_due(
    database: Database, settings: Settings, links: mail.Links, *, plan: bool = True
) -> Outcome:
    """Plan the reminders that are due and send every message that is due now, then return
    (for the sender's loop, and for cron)."""
    if plan:
        mail_causes.plan_reminders(database)
        later_mail.plan_digests(database)
    outcome = Outcome()
    if not settings.smtp_url:
        return outcome  # they wait in the outbox
    while True:
        held_since = utcnow()
        claimed = outbox.claim_due(database)
        if not claimed or not _send_batch(database, settings, links, claimed, held_since, outcome):
            break
    return outcome


async def send_forever(database: Database, settings: Settings, links: mail.Links) -> None:
    """Every server process's sender: now and then, plan reminders and send what is due, in
    a thread (a slow mail server holds up no request)."""
    planned = purged = float("-inf")
    while True:
        await asyncio.sleep(settings.mail_every_seconds)
        plan = time.monotonic() - planned >= PLAN_EVERY_SECONDS
        try:
            await asyncio.to_thread(send_due, database, settings, links, plan=plan)
        except Exception:  # the database away, say: the next turn tries again
            log.warning("the sender could not finish its turn", exc_info=True)
        if plan:
            planned = time.monotonic()
        if time.monotonic() - purged >= privacy.PURGE_EVERY_SECONDS:
            # Retention too runs by itself, in every process (each event's purge once).
            try:
                await asyncio.to_thread(privacy.purge_due, database)
            except Exception:
                log.warning("retention could not finish its turn", exc_info=True)
            purged = time.monotonic()


def _send_batch(
    database: Database,
    settings: Settings,
    links: mail.Links,
    ids: list[int],
    held_since: datetime,
    outcome: Outcome,
) -> bool:
    """Send the claimed messages over one connection; False when the server could not be
    used (each message is then tried again later)."""
    try:
        connection = connect(settings)
    except (OSError, ServerFault, smtplib.SMTPException) as exc:
        log.warning("the mail server cannot be reached: %s", exc)
        for message_id in ids:
            _record_temporary(database, message_id, f"The mail server: {exc}", outcome)
        return False
    try:
        for position, message_id in enumerate(ids):
            if utcnow() - held_since > HAND_BACK_AFTER:
                _hand_back(database, ids[position:])
                break
            try:
                email = _compose(database, settings, links, message_id)
            except mail.NothingToSend as reason:
                outbox.record(
                    database, message_id, MessageState.cancelled, str(reason), permanent=True
                )
                outcome.cancelled.append(message_id)
                continue
            if email is None:
                continue
            try:
                answer = deliver(connection, settings, email)
            except Refusal as refusal:
                outbox.record(
                    database,
                    message_id,
                    MessageState.failed,
                    str(refusal),
                    permanent=refusal.permanent,
                )
                (outcome.failed if refusal.permanent else outcome.retried).append(message_id)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                for rest in ids[position:]:
                    _record_temporary(database, rest, f"The mail server: {exc}", outcome)
                return False
            outbox.record(database, message_id, MessageState.sent, answer, permanent=False)
            outcome.sent.append(message_id)
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return True


def _hand_back(database: Database, ids: list[int]) -> None:
    """Give back claimed messages not yet tried: due again at once, the try not counted."""
    with database.write() as session:
        session.execute(
            update(Message)
            .where(col(Message.id).in_(ids), col(Message.state) == MessageState.sending)
            .values(state=MessageState.waiting, claimed_until=None, attempts=Message.attempts - 1)
        )


def _record_temporary(database: Database, message_id: int, reply: str, outcome: Outcome) -> None:
    outbox.record(database, message_id, MessageState.failed, reply, permanent=False)
    outcome.retried.append(message_id)


def _compose(
    database: Database, settings: Settings, links: mail.Links, message_id: int
) -> EmailMessage | None:
    with database.read() as session:
        message = session.get(Message, message_id)
        if message is None:
            return None
        return mail.compose(session, settings, message, links)


def send_test(settings: Settings, address: str) -> str:
    """One test message straight to `address` (not through the outbox): the server's answer."""
    message = Message(
        kind=MessageKind.test,
        to_address=address,
        subject=mail.subject(MessageKind.test, None, "en"),
        message_id=outbox.new_message_key(),
    )
    email = mail.draw(settings, message, {"site": settings.base_url})
    connection = connect(settings)
    try:
        return deliver(connection, settings, email)
    finally:
        connection.quit()
