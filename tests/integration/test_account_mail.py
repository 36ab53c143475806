"""Organiser accounts by mail: an invitation to a team and a forgotten password, each a
single-use link that runs out, sent through the outbox to a real SMTP server (aiosmtpd)."""

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.config import Settings
from app.db import Database
from app.models import AuditEntry, Event, Message, Organiser, Role
from app.models.mail import MessageKind, MessageState
from app.models.people import PasswordReset
from app.services import invitations, mail_sender
from app.services.mail import Links
from tests.conftest import csrf_token, log_in, post_form, text_of
from tests.factories import PASSWORD, Factory
from tests.mail_sink import MailSink

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
Clock = Callable[[datetime], None]


@dataclass
class Post:
    """The outbox's sender and the SMTP server it hands messages to, as the tests use them."""

    database: Database
    settings: Settings
    links: Links
    sink: MailSink

    def send(self) -> None:
        mail_sender.send_due(self.database, self.settings, self.links)

    def link(self, address: str, path: str) -> str:
        """The path of the link to `path` in the newest message to `address`, as a person
        clicks it; the text and the HTML part carry the same one."""
        received = self.sink.to(address)
        assert received, f"nothing reached {address}"
        text, html = received[-1].part("plain"), received[-1].part("html")
        found = re.findall(rf"http://testserver({path}/[\w.\-]+)", text)
        assert found and found[0] in html
        return str(found[0])


@pytest.fixture
def post(database: Database, mail_settings: Settings, links: Links, sink: MailSink) -> Post:
    return Post(database, mail_settings, links, sink)


def _kinds(database: Database, kind: MessageKind) -> list[Message]:
    with database.read() as session:
        return list(session.exec(select(Message).where(Message.kind == kind)))


def _invite(client: TestClient, event: Event, email: str, name: str = "Nia Newcomer") -> str:
    answer = post_form(
        client,
        f"/organiser/events/{event.id}/team",
        {"email": email, "name": name, "role": "facilitator"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200  # type: ignore[attr-defined]
    return text_of(answer.text)  # type: ignore[attr-defined]


def _join(app: FastAPI, path: str, name: str, password: str) -> tuple[TestClient, object]:
    browser = TestClient(app, follow_redirects=False)
    page = browser.get(path)
    assert page.status_code == 200, page.text
    joined = post_form(
        browser, path, {"name": name, "password": password, "password_again": password}
    )
    return browser, joined


def test_invited_teammate_joins_by_the_mailed_link_once(
    app: FastAPI,
    client: TestClient,
    make: Factory,
    post: Post,
) -> None:
    organiser = make.organiser(name="Olu Organiser")
    event = make.event(organiser)
    log_in(client, organiser.email)
    said = _invite(client, event, "Nia@Example.org")
    assert "We sent an invitation to nia@example.org" in said
    assert "Nia Newcomer" in said  # listed as invited, not on the team yet
    post.send()
    message = post.sink.to("nia@example.org")[0].message
    assert "You are invited to the team of Reducing inequalities together" in message["Subject"]
    assert "Olu Organiser asks you to join" in text_of(
        post.sink.to("nia@example.org")[0].part("html")
    )
    path = post.link("nia@example.org", "/invite")

    browser, joined = _join(app, path, "Nia N.", "a long new passphrase")
    with browser:
        assert joined.headers["location"] == "/organiser"  # type: ignore[attr-defined]
        # Signed in, as a facilitator of the event (and no more than that).
        assert browser.get(f"/facilitate/{event.id}").status_code == 200
        assert browser.get(f"/organiser/events/{event.id}").status_code == 403
    with TestClient(app, follow_redirects=False) as later:
        log_in(later, "nia@example.org", "a long new passphrase")
        # Used once: the link now says so, and the button does nothing more.
        again = later.get(path)
        assert again.status_code == 410
        assert "This invitation has been used already" in text_of(again.text)
        pressed = post_form(
            later, path, {"name": "X", "password": "another one!", "password_again": "another one!"}
        )
        assert pressed.status_code == 410  # type: ignore[attr-defined]
    team = client.get(f"/organiser/events/{event.id}")
    assert "Nia N." in text_of(team.text) and "Invited, not joined yet" not in team.text
    with post.database.read() as session:
        lines = [
            (entry.actor, entry.action)
            for entry in session.exec(
                select(AuditEntry)
                .where(AuditEntry.event_id == event.id)
                .order_by(col(AuditEntry.id))
            )
        ]
    assert any("Invite someone to the team" in action for _actor, action in lines)
    assert ("Nia N. <nia@example.org>", "team invitation accepted") in lines


def test_passwords_that_differ_are_refused_with_the_name_kept(
    app: FastAPI, client: TestClient, make: Factory, settings: Settings
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    _invite(client, event, "nia@example.org")
    path = _outbox_link(client, event)
    with TestClient(app, follow_redirects=False) as browser:
        browser.get(path)
        refused = post_form(
            browser,
            path,
            {
                "name": "Nia Typed",
                "password": "a long passphrase",
                "password_again": "a long passfrase",
            },
        )
        assert refused.status_code == 422  # type: ignore[attr-defined]
        said = text_of(refused.text)  # type: ignore[attr-defined]
        assert "The two passwords are not the same" in said
        assert 'value="Nia Typed"' in refused.text  # type: ignore[attr-defined]
        assert "a long passphrase" not in refused.text  # type: ignore[attr-defined]
        short = post_form(
            browser, path, {"name": "Nia", "password": "short", "password_again": "short"}
        )
        assert "at least 10 characters" in text_of(short.text)  # type: ignore[attr-defined]
        # Nothing was used up: the link still works.
        assert browser.get(path).status_code == 200


def _outbox_link(client: TestClient, event: Event) -> str:
    """The invitation's link as an organiser with no mail server finds it: the team page
    leads to the message in the Outbox, which shows it as it will be sent."""
    team = client.get(f"/organiser/events/{event.id}").text
    shown = re.search(rf"/organiser/events/{event.id}/outbox/\d+", team)
    assert shown is not None, "the team page leads to the invitation's message"
    page = client.get(shown.group(0))
    assert page.status_code == 200
    found = re.search(r"http://testserver(/invite/[\w.\-]+)", page.text)
    assert found is not None
    return found.group(1)


def test_without_a_mail_server_the_link_waits_in_the_outbox_and_works(
    app: FastAPI, client: TestClient, make: Factory
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    _invite(client, event, "nia@example.org")
    [waiting] = _kinds(make.database, MessageKind.team_invite)
    assert waiting.state == MessageState.waiting
    eml = client.get(f"/organiser/events/{event.id}/outbox/{waiting.id}/eml")
    assert eml.status_code == 200 and b"/invite/" in eml.content
    browser, joined = _join(app, _outbox_link(client, event), "Nia", "a long new passphrase")
    with browser:
        assert joined.status_code == 303  # type: ignore[attr-defined]


def test_inviting_again_while_open_sends_nothing_new(
    client: TestClient,
    make: Factory,
    post: Post,
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    _invite(client, event, "nia@example.org")
    said = _invite(client, event, "NIA@example.org")
    assert "invited already" in said and "Nothing new was sent" in said
    post.send()
    _invite(client, event, "nia@example.org")
    post.send()
    assert len(_kinds(post.database, MessageKind.team_invite)) == 1
    assert len(post.sink.to("nia@example.org")) == 1


def test_invitation_runs_out_and_a_new_one_replaces_it(
    app: FastAPI,
    client: TestClient,
    make: Factory,
    post: Post,
    clock: Clock,
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    clock(NOW)
    _invite(client, event, "nia@example.org")
    post.send()
    first = post.link("nia@example.org", "/invite")
    clock(NOW + timedelta(days=7) - timedelta(minutes=1))
    with TestClient(app, follow_redirects=False) as browser:
        assert browser.get(first).status_code == 200
    clock(NOW + timedelta(days=7, minutes=1))
    with TestClient(app, follow_redirects=False) as browser:
        gone = browser.get(first)
        assert gone.status_code == 410
        assert "This invitation ran out" in text_of(gone.text)
    assert "ran out: invite them again" in text_of(client.get(f"/organiser/events/{event.id}").text)
    _invite(client, event, "nia@example.org")
    post.send()
    assert len(post.sink.to("nia@example.org")) == 2
    second = post.link("nia@example.org", "/invite")
    assert second != first
    with TestClient(app, follow_redirects=False) as browser:
        assert "A newer invitation replaced this one" in text_of(browser.get(first).text)
    browser, joined = _join(app, second, "Nia", "a long new passphrase")
    with browser:
        assert joined.status_code == 303  # type: ignore[attr-defined]


def test_cancelled_invitation_goes_nowhere_and_its_link_stops(
    app: FastAPI,
    client: TestClient,
    make: Factory,
    post: Post,
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    _invite(client, event, "nia@example.org")
    path = _outbox_link(client, event)
    with post.database.read() as session:
        [waiting] = invitations.waiting(session, event)
    cancelled = post_form(
        client, f"/organiser/events/{event.id}/invites/{waiting.invite.id}/cancel", {}
    )
    assert cancelled.status_code == 303  # type: ignore[attr-defined]
    [message] = _kinds(post.database, MessageKind.team_invite)
    assert message.state == MessageState.cancelled
    post.send()
    assert post.sink.to("nia@example.org") == []
    with TestClient(app, follow_redirects=False) as browser:
        gone = browser.get(path)
        assert gone.status_code == 410
        assert "cancelled this invitation" in text_of(gone.text)


def test_an_existing_account_joins_signed_in_as_itself(
    app: FastAPI, client: TestClient, make: Factory
) -> None:
    organiser = make.organiser()
    colleague = make.organiser(email="colleague@example.org", name="Cole League")
    event = make.event(organiser)
    log_in(client, organiser.email)
    _invite(client, event, colleague.email)
    path = _outbox_link(client, event)
    with TestClient(app, follow_redirects=False) as browser:
        asked = text_of(browser.get(path).text)
        assert "Log in to join" in asked
        # Nobody else can take the invitation for this account.
        refused = post_form(browser, path, {})
        assert refused.status_code == 403  # type: ignore[attr-defined]
        log_in(browser, colleague.email)
        joined = post_form(browser, path, {})
        assert joined.status_code == 303  # type: ignore[attr-defined]
        assert browser.get(f"/facilitate/{event.id}").status_code == 200


def test_names_with_line_breaks_add_no_header(
    make: Factory,
    post: Post,
) -> None:
    organiser = make.organiser(name="Olu\r\nBcc: boss@example.org")
    event = make.event(organiser)
    with post.database.write() as session:
        invitations.invite(
            session,
            event,
            organiser,
            "nia@example.org",
            "Nia\r\nBcc: victim@example.org\r\nSubject: hi",
            Role.facilitator,
        )
    post.send()
    [received] = post.sink.received
    assert received.rcpt_tos == ["nia@example.org"]
    assert received.message["Bcc"] is None
    assert received.message.get_all("Subject") == [received.message["Subject"]]
    assert "\n" not in str(received.message["To"])


# --- a forgotten password --------------------------------------------------------------------


def _ask(browser: TestClient, email: str) -> tuple[int, str]:
    answer = post_form(browser, "/password/forgot", {"email": email})
    said = text_of(answer.text).replace(email.lower(), "ADDRESS")  # type: ignore[attr-defined]
    return answer.status_code, said  # type: ignore[attr-defined]


def test_forgot_password_answers_alike_and_sends_only_to_an_account(
    client: TestClient, make: Factory
) -> None:
    organiser = make.organiser()
    # One address field on the log-in page; "Forgot your password?" leads to the form.
    login = client.get("/login").text
    assert 'href="/password/forgot"' in login and "Send me a link" not in login
    assert "Send me a link" in text_of(client.get("/password/forgot").text)
    known = _ask(client, organiser.email)
    unknown = _ask(client, "nobody@example.org")
    assert known == unknown
    assert known[0] == 200 and "If there is an account for ADDRESS" in known[1]
    [message] = _kinds(make.database, MessageKind.password_reset)
    assert message.to_address == organiser.email
    # A request over and over sends one link (the form cannot fill someone's inbox).
    for _ in range(3):
        assert _ask(client, organiser.email) == known
    assert len(_kinds(make.database, MessageKind.password_reset)) == 1
    # And a reset message is nobody else's to see: it is on no event's Outbox page.
    assert message.event_id is None
    # The work done for an address with no account (so that it takes as long) left nothing.
    with make.database.read() as session:
        assert session.exec(select(Organiser.email)).all() == [organiser.email]
        assert len(session.exec(select(PasswordReset)).all()) == 1
        assert len(session.exec(select(Message)).all()) == 1


def test_a_new_password_by_link_signs_out_every_other_browser(
    app: FastAPI,
    make: Factory,
    post: Post,
) -> None:
    organiser = make.organiser(name="Olu Organiser")
    with (
        TestClient(app, follow_redirects=False) as laptop,
        TestClient(app, follow_redirects=False) as phone,
        TestClient(app, follow_redirects=False) as stranger,
    ):
        log_in(laptop, organiser.email)
        _ask(stranger, organiser.email)
        post.send()
        received = post.sink.to(organiser.email)[0]
        assert "Hello Olu Organiser" in received.part("plain")
        path = post.link(organiser.email, "/password/new")
        assert organiser.email in text_of(phone.get(path).text)
        done = post_form(
            phone,
            path,
            {"password": "my fresh passphrase", "password_again": "my fresh passphrase"},
        )
        assert done.headers["location"] == "/organiser"  # type: ignore[attr-defined]
        assert phone.get("/organiser").status_code == 200
        assert laptop.get("/organiser").status_code == 303  # signed out
        again = stranger.get(path)
        assert again.status_code == 410
        assert "This link has been used already" in text_of(again.text)
        wrong = stranger.post(
            "/login",
            data={
                "email": organiser.email,
                "password": PASSWORD,
                "csrf_token": csrf_token(stranger),
            },
        )
        assert wrong.status_code == 400
        log_in(stranger, organiser.email, "my fresh passphrase")
    with post.database.read() as session:
        actions = session.exec(
            select(AuditEntry.action).where(AuditEntry.actor == organiser.email)
        ).all()
    assert "password reset: link asked for" in actions
    assert "password reset by a link sent by e-mail" in actions


def test_reset_link_runs_out_in_an_hour_and_dies_with_the_password(
    app: FastAPI,
    make: Factory,
    post: Post,
    clock: Clock,
) -> None:
    organiser = make.organiser()
    with TestClient(app, follow_redirects=False) as browser:
        clock(NOW)
        _ask(browser, organiser.email)
        post.send()
        first = post.link(organiser.email, "/password/new")
        clock(NOW + timedelta(minutes=59))
        assert browser.get(first).status_code == 200
        clock(NOW + timedelta(minutes=61))
        gone = browser.get(first)
        assert gone.status_code == 410 and "This link ran out" in text_of(gone.text)
        # Two links within the hour; the newer one used, the older one works no more.
        clock(NOW + timedelta(hours=2))
        _ask(browser, organiser.email)
        post.send()
        older = post.link(organiser.email, "/password/new")
        clock(NOW + timedelta(hours=2, minutes=6))
        _ask(browser, organiser.email)
        post.send()
        newer = post.link(organiser.email, "/password/new")
        assert len({first, older, newer}) == 3
        post_form(
            browser,
            newer,
            {"password": "my fresh passphrase", "password_again": "my fresh passphrase"},
        )
        replaced = browser.get(older)
        assert replaced.status_code == 410
        assert "The password was changed after this link was sent" in text_of(replaced.text)


def test_a_paused_account_gets_in_again_by_the_link(
    app: FastAPI,
    make: Factory,
    post: Post,
) -> None:
    organiser = make.organiser()
    with TestClient(app, follow_redirects=False) as guesser:
        token = csrf_token(guesser)
        for n in range(7):
            paused = guesser.post(
                "/login", data={"email": organiser.email, "password": f"x{n}", "csrf_token": token}
            )
        assert paused.status_code == 429
        assert "Ask for a link to set a new one" in text_of(paused.text)
    with TestClient(app, follow_redirects=False) as owner:
        _ask(owner, organiser.email)
        post.send()
        path = post.link(organiser.email, "/password/new")
        post_form(
            owner,
            path,
            {"password": "my fresh passphrase", "password_again": "my fresh passphrase"},
        )
    with TestClient(app, follow_redirects=False) as owner:
        log_in(owner, organiser.email, "my fresh passphrase")
    with post.database.read() as session:
        account = session.get_one(Organiser, organiser.id)
        assert account.failed_logins == 0 and account.login_locked_until is None


def test_two_invitations_sent_at_once_make_one_message(make: Factory) -> None:
    """A form sent twice at the same moment (two taps, two organisers): one invitation, one
    message, and neither sender sees an error."""
    organiser = make.organiser()
    event = make.event(organiser)
    ready = threading.Barrier(2)
    sent: list[bool] = []

    def invite() -> None:
        ready.wait()
        with make.database.write() as session:
            sent.append(
                invitations.invite(
                    session, event, organiser, "nia@example.org", "Nia", Role.facilitator
                ).sent
            )

    both = [threading.Thread(target=invite) for _ in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join(timeout=30)
    assert sorted(sent) == [False, True]
    assert len(_kinds(make.database, MessageKind.team_invite)) == 1
