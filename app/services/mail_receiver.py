"""The mail receiver behind `openspace receive-mail`: an SMTP (or LMTP) server, aiosmtpd, that
takes replies from the organisation's mail server and hands each to `mail_replies.receive`.

It answers 250 only once the message is stored (posted or kept for the organiser), 451 when
the database cannot take it now (the mail server tries again later), and 552 to a message
over `MAX_BYTES`; nothing it is sent can stop it.
"""

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from app.db import Database
from app.security import LinkSigner
from app.services import mail_replies

log = logging.getLogger("openspace.mail")

# A reply is words; a message larger than this is refused whole (552), attachments and all.
MAX_BYTES = 10 * 1024 * 1024
MAX_RECIPIENTS = 20


class ReplyHandler:
    """aiosmtpd's hooks: take any recipient (up to a few), keep each message that arrives."""

    def __init__(self, database: Database, signer: LinkSigner, *, lmtp: bool) -> None:
        self.database = database
        self.signer = signer
        self.lmtp = lmtp

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await asyncio.to_thread(
                mail_replies.receive, self.database, self.signer, raw, list(envelope.rcpt_tos)
            )
        except Exception:
            log.exception("a reply could not be stored; the mail server will try again")
            answer = "451 4.3.0 Could not store the message now; try again later"
        else:
            answer = "250 2.0.0 Kept"
        if self.lmtp:  # LMTP answers once for each recipient
            return "\r\n".join(answer for _ in envelope.rcpt_tos)
        return answer


class ReplyServer(Controller):
    """The receiver on its own thread: SMTP, or LMTP for a mail server's local delivery."""

    def __init__(self, handler: ReplyHandler, host: str, port: int, **kwargs: Any) -> None:
        super().__init__(
            handler,
            hostname=host,
            port=port,
            data_size_limit=MAX_BYTES,
            ident="OpenSpace replies",
            **kwargs,
        )
        self.lmtp = handler.lmtp

    def factory(self) -> SMTP:
        return (LMTP if self.lmtp else SMTP)(self.handler, **self.SMTP_kwargs)


def start(
    database: Database, signer: LinkSigner, host: str, port: int, *, lmtp: bool = False
) -> ReplyServer:
    """Start taking replies on host:port; stop() the server returned to end it."""
    server = ReplyServer(ReplyHandler(database, signer, lmtp=lmtp), host, port)
    server.start()
    return server
