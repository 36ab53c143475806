"""In Chromium with JavaScript off, on a phone: an organiser invites a teammate, who joins by
the link from the Outbox; the teammate forgets their password and sets a new one by the link
the reset message carries. Plain forms and whole pages only."""

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, expect
from sqlmodel import select

from app.models import Message
from app.models.mail import MessageKind
from app.services import mail
from app.web.mail_links import mail_links
from tests.browser.pages import PHONE
from tests.factories import PASSWORD, Factory

pytestmark = pytest.mark.browser


@pytest.fixture
def no_js(browser: Browser, live_server: str) -> Iterator[Iterator[BrowserContext]]:
    opened: list[BrowserContext] = []

    def contexts() -> Iterator[BrowserContext]:
        while True:
            context = browser.new_context(base_url=live_server, java_script_enabled=False, **PHONE)
            opened.append(context)
            yield context

    yield contexts()
    for context in opened:
        context.close()


def _reset_link(app: FastAPI, make: Factory) -> str:
    """The link in the reset message, drawn as the sender draws it (no mail server here)."""
    settings = app.state.settings
    with make.database.read() as session:
        message = session.exec(
            select(Message).where(Message.kind == MessageKind.password_reset)
        ).one()
        email = mail.compose(session, settings, message, mail_links(settings, app.state.signer))
    body = email.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"/password/new/[\w.\-]+", str(body.get_content()))
    assert found is not None
    return found.group(0)


def test_invite_and_reset_forms_with_javascript_off(
    no_js: Iterator[BrowserContext],
    served: tuple[str, FastAPI],
    make: Factory,
    screenshots: Path,
) -> None:
    live_server, app = served
    organiser = make.organiser()
    event = make.event(organiser, name="Paper-first day", starts_on=date(2027, 3, 20))

    # --- the organiser invites a teammate -----------------------------------------------------
    page = next(no_js).new_page()
    page.goto("/login")
    page.get_by_label("E-mail address", exact=True).first.fill(organiser.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/organiser/events/{event.id}#team")
    team = page.locator("#team")
    team.get_by_label("E-mail address").fill("nia@example.org")
    team.get_by_label("Name").fill("Nia Newcomer")
    team.get_by_role("button", name="Send the invitation").click()
    expect(page.locator("#team")).to_contain_text("Invited, not joined yet")
    page.get_by_role("link", name="See the message and its link").click()
    expect(page.locator("body")).to_contain_text("You are invited to the team of Paper-first day")
    found = re.search(r"/invite/[\w.\-]+", page.content())
    assert found is not None
    page.screenshot(path=screenshots / "invite-in-outbox.png", full_page=True)

    # --- the teammate joins: a refused form keeps the name, then it works ---------------------
    invitee = next(no_js).new_page()
    invitee.goto(found.group(0))
    assert invitee.evaluate("typeof window.htmx") == "undefined"
    expect(invitee.get_by_label("Your name")).to_have_value("Nia Newcomer")
    invitee.get_by_label("Password", exact=True).fill("a long passphrase")
    invitee.get_by_label("The same password again").fill("a different one")
    invitee.get_by_role("button", name="Join the team").click()
    expect(invitee.locator("#password_again-error")).to_contain_text("not the same")
    expect(invitee.get_by_label("Your name")).to_have_value("Nia Newcomer")
    invitee.get_by_label("Password", exact=True).fill("a long passphrase")
    invitee.get_by_label("The same password again").fill("a long passphrase")
    invitee.screenshot(path=screenshots / "invite-join.png", full_page=True)
    invitee.get_by_role("button", name="Join the team").click()
    expect(invitee).to_have_url(f"{live_server}/organiser")
    expect(invitee.locator("main")).to_contain_text("Paper-first day")

    # --- she forgets it, and sets a new one by the link -------------------------------------
    forgetful = next(no_js).new_page()
    forgetful.goto("/login")
    forgetful.get_by_role("link", name="Forgot your password?").click()
    forgetful.get_by_label("E-mail address").fill("nia@example.org")
    forgetful.get_by_role("button", name="Send me a link").click()
    expect(forgetful.get_by_role("status")).to_contain_text("If there is an account for")
    forgetful.goto(_reset_link(app, make))
    forgetful.get_by_label("New password").fill("my fresh passphrase")
    forgetful.get_by_label("The same password again").fill("my fresh passphrase")
    forgetful.screenshot(path=screenshots / "password-new.png", full_page=True)
    forgetful.get_by_role("button", name="Set the new password").click()
    expect(forgetful).to_have_url(f"{live_server}/organiser")
    # The browser that joined with the old password is signed out.
    invitee.goto("/organiser")
    expect(invitee).to_have_url(re.compile(r"/login"))
