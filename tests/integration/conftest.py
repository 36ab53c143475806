"""Fixtures for the mail tests: a real SMTP server, settings that send to it, the clock."""

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from app.config import Settings
from app.models.base import set_clock
from app.security import LinkSigner
from app.services.mail import Links
from app.web.mail_links import mail_links
from tests.mail_sink import MailSink, Server


@pytest.fixture
def sink() -> Iterator[MailSink]:
    """An SMTP server (aiosmtpd) on a free port of this machine, keeping what it receives."""
    with Server() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, sink: MailSink) -> Settings:
    return settings.model_copy(
        update={"smtp_url": sink.url, "mail_from": "Open Space <outbox@openspace.example>"}
    )


@pytest.fixture
def links(mail_settings: Settings) -> Links:
    return mail_links(mail_settings, LinkSigner(mail_settings.secret_key))


@pytest.fixture
def clock() -> Iterator[Callable[[datetime], None]]:
    """Set the app's clock to a moment; it runs true again after the test."""
    yield set_clock
    set_clock(None)
