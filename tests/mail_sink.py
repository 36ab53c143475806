"""A real SMTP server for the tests (aiosmtpd on a free port) that keeps what it receives."""

import asyncio
import email
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One message as the server took it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


@dataclass
class MailSink:
    """What the server received, and the answers it is told to give."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    # Addresses refused at RCPT with this answer ("550 5.1.1 No such user").
    refuse: dict[str, str] = field(default_factory=dict)
    # A slow server: it takes each message, then waits this long before it answers.
    answer_after: float = 0.0
    # A stuck server: messages after the first `hold_after` are taken (kept in `received`, as
    # a server that queued them) but not answered until `release` is set.
    hold_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    # Called with each message's number as it is taken (before the answer).
    on_data: Callable[[int], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
            number = len(self.received)
        if self.on_data is not None:
            self.on_data(number)
        if self.answer_after:
            await asyncio.sleep(self.answer_after)
        if self.hold_after is not None and number > self.hold_after:
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        return f"250 OK queued as test-{number}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The sink, served by aiosmtpd in its own thread."""

    def __init__(self) -> None:
        self.sink = MailSink(port=free_port())
        self.controller = Controller(self.sink, hostname=self.sink.host, port=self.sink.port)

    def __enter__(self) -> MailSink:
        self.controller.start()
        return self.sink

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
