"""Carry it into the next event, the rest of it: last year's pledges come along (linked, not
copied) and a returning participant refreshes theirs, the old one beside the new; an update
posted from this year's event is in last year's report; the owners of carried actions are told
once, by mail, if they asked for it."""

from collections.abc import Callable
from datetime import date, datetime, time

from fastapi.testclient import TestClient
from lxml import html
from sqlmodel import col, select

from app.config import Settings
from app.db import Database
from app.models import (
    Action,
    ActionStatus,
    Message,
    Organiser,
    Participant,
    Pledge,
    Topic,
)
from app.models.mail import MessageCause, MessageKind, Purpose
from app.models.outcomes import ActionForm
from app.security import LinkSigner
from app.services import actions, mail_sender, outbox
from app.services.mail import Links
from tests.conftest import csrf_token, log_in, phone_in, post_form, text_of
from tests.factories import Factory, count, placed_topic
from tests.integration.test_followup_dashboard import DAY, a_year_on, at
from tests.mail_sink import MailSink

NEXT_YEAR = date(2026, 11, 26)
Clock = Callable[[datetime], None]


def _section(page: str, name: str) -> str:
    found = html.fromstring(page).xpath(f'//section[@aria-labelledby="{name}"]')[0]
    return " ".join(found.text_content().split())


def test_pledges_come_along_and_a_returning_participant_refreshes_theirs_beside_the_old(
    client: TestClient,
    make: Factory,
    phones: list[TestClient],
    settings: Settings,
    clock: Clock,
) -> None:
    last = a_year_on(make)
    this = make.event(last.organiser, name="Healthy towns 2026", starts_on=NEXT_YEAR)
    log_in(client, last.organiser.email)
    address = f"/organiser/events/{this.id}/carried"
    assert post_form(client, address, {"from_event_id": str(last.event.id)}).status_code == 303  # type: ignore[attr-defined]
    page = client.get(address).text
    shown = _section(page, "pledges-here")
    assert "Pledges carried over (2)" in shown
    assert "I will ask about damp at every visit (0)." in shown and "(1)." in shown
    assert "Asked 40 families." in shown and shown.count("Not refreshed yet.") == 2
    assert count(make.database, Pledge) == 2  # linked, not copied
    with make.database.read() as session:
        old = session.exec(select(Pledge).order_by(col(Pledge.id))).first()
        assert old is not None
        author = session.get_one(Participant, old.participant_id).display_name
    link = html.fromstring(page).xpath(
        f'//li[@id="carried-pledge-{old.id}"]//a[contains(@href, "/pledge/refresh/")]/@href'
    )[0]
    path = link.removeprefix("http://testserver")
    assert path.startswith(f"/e/{this.join_code}/pledge/refresh/")

    # The postcard's link (last year's) leads there too.
    token = path.rsplit("/", 1)[1]
    answer_page = client.get(f"/p/{token}").text
    assert f'href="{path}"' in answer_page
    assert "At Healthy towns 2026? Refresh your pledge there" in text_of(answer_page)

    # Someone who has not joined this year's event is sent to join it first.
    stranger = TestClient(client.app, follow_redirects=False)
    assert stranger.get(path).status_code in (302, 303)

    # The author, joined this year, sees last year's pledge and its answer, and refreshes it.
    clock(at(NEXT_YEAR, 15))
    person = phone_in(client.app, phones, this, author)
    form = person.get(path)
    assert form.status_code == 200
    before = text_of(form.text)
    assert "Your pledge at Healthy towns 2025" in before
    assert "I will ask about damp at every visit (0)." in before
    assert "Asked 40 families." in before
    refused = post_form(person, path, {"text": " "})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    new_words = "Ask about damp and mould at every visit, and tell the GP the same day."
    saved = post_form(person, path, {"text": new_words})
    assert saved.status_code == 303  # type: ignore[attr-defined]
    assert saved.headers["location"] == f"{path}?saved=1"  # type: ignore[attr-defined]
    after = person.get(f"{path}?saved=1").text
    tree = html.fromstring(after)
    old_side = " ".join(
        tree.xpath('//section[@aria-labelledby="old-pledge"]')[0].text_content().split()
    )
    new_side = " ".join(
        tree.xpath('//section[@aria-labelledby="new-pledge"]')[0].text_content().split()
    )
    assert (
        "I will ask about damp at every visit (0)." in old_side and "Asked 40 families." in old_side
    )
    assert "Your pledge at Healthy towns 2026" in new_side
    assert tree.xpath('//*[@id="new-pledge-text"]')[0].text_content().strip() == new_words
    assert "Your new pledge is kept beside the old one." in text_of(after)

    # The old pledge is as it was; the new one is this year's, by this year's participant.
    with make.database.read() as session:
        kept = session.get_one(Pledge, old.id)
        assert (kept.text, kept.answer) == (
            "I will ask about damp at every visit (0).",
            "Asked 40 families.",
        )
        [new] = session.exec(select(Pledge).where(Pledge.event_id == this.id)).all()
        assert new.text == new_words
        assert session.get_one(Participant, new.participant_id).event_id == this.id
    shown = _section(client.get(address).text, "pledges-here")
    assert f"Refreshed: {new_words}" in shown and shown.count("Not refreshed yet.") == 1
    assert new_words in text_of(client.get(f"/organiser/events/{this.id}/pledges").text)

    # A pledge that was not brought into this event cannot be refreshed here.
    elsewhere = make.event(last.organiser, name="Another day", starts_on=date(2027, 1, 5))
    stray = make.participant(elsewhere, "Someone else")
    with make.database.write() as session:
        other = Pledge(
            event_id=elsewhere.id or 0, participant_id=stray.id or 0, text="x", remind_on=DAY
        )
        session.add(other)
        session.flush()
        assert other.id is not None
        other_path = path.rsplit("/", 1)[0] + "/" + _token_of(settings, other.id)
    assert person.get(other_path).status_code == 404


def _token_of(settings: Settings, pledge_id: int) -> str:
    """A genuine pledge link's token for a pledge (as its postcard would carry it)."""
    return LinkSigner(settings.secret_key).sign("pledge-answer", pledge_id)


def test_an_update_posted_from_this_years_event_is_in_last_years_report(
    client: TestClient, make: Factory, clock: Clock
) -> None:
    last = a_year_on(make)
    this = make.event(last.organiser, name="Healthy towns 2026", starts_on=NEXT_YEAR)
    log_in(client, last.organiser.email)
    address = f"/organiser/events/{this.id}/carried"
    post_form(client, address, {"from_event_id": str(last.event.id)})
    tenants = last.titles["Tenants' forum"]
    link = html.fromstring(client.get(address).text).xpath(
        f'//li[@id="carried-{tenants}"]//a[contains(@href, "/a/")]/@href'
    )[0]
    clock(at(NEXT_YEAR, 16))
    owner = TestClient(client.app, follow_redirects=False)
    path = link.removeprefix("http://testserver")
    assert owner.get(path).status_code == 200
    posted = owner.post(
        path,
        data={
            "status": "in_progress",
            "note": "Raised at this year's event.",
            "csrf_token": csrf_token(owner),
        },
    )
    assert posted.status_code == 303
    report = text_of(client.get(f"/organiser/events/{last.event.id}/one-year-on").text)
    assert "Tenants' forum — Damp homes and health, Owner: Council team, In progress. " in report
    assert "Last update 26 Nov 2026: Raised at this year's event." in report
    assert count(make.database, Action) == 5


def _owned(make: Factory) -> tuple[Organiser, int, dict[str, int]]:
    """Last year's event with open actions owned by Ada (who asked for mail about them, two
    open and one done) and by Sam (who did not); returns its organiser, event and actions."""
    organiser = make.organiser("carry-mail@example.org")
    event = make.event(organiser, name="Healthy towns 2025", starts_on=date(2025, 11, 20))
    slot = make.slot(event, time(10), time(11))
    topic = placed_topic(make, event, slot, make.space(event), "Transport")
    ada = make.participant(event, "Ada Asked", "ada@example.org")
    sam = make.participant(event, "Sam Silent", "sam@example.org")
    titles = {}
    with make.database.write() as session:
        assert ada.id is not None
        outbox.set_consent(session, ada.id, Purpose.actions, True)
        for title, who, status in (
            ("Bus passes", ada, ActionStatus.agreed),
            ("Night buses", ada, ActionStatus.in_progress),
            ("Old timetable", ada, ActionStatus.done),
            ("Cycle lanes", sam, ActionStatus.agreed),
        ):
            titles[title] = (
                actions.add_action(
                    session,
                    event,
                    session.get_one(Topic, topic.id),
                    who,
                    ActionForm(title=title, status=status),
                    owner_id=who.id,
                ).id
                or 0
            )
    assert event.id is not None
    return organiser, event.id, titles


def test_owners_of_carried_actions_are_told_once_if_they_asked(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    organiser, last_id, titles = _owned(make)
    this = make.event(organiser, name="Healthy towns 2026", starts_on=NEXT_YEAR)
    log_in(client, "carry-mail@example.org")
    address = f"/organiser/events/{this.id}/carried"
    for _ in range(2):  # asked twice: carried once, told once
        carried = post_form(client, address, {"from_event_id": str(last_id)})
        assert carried.status_code == 303, carried.text  # type: ignore[attr-defined]
    with make.database.read() as session:
        told = session.exec(select(Message).where(Message.kind == MessageKind.action_carried)).all()
        assert [m.to_address for m in told] == ["ada@example.org"]
        causes = session.exec(
            select(MessageCause.action_id).where(MessageCause.message_id == told[0].id)
        ).all()
        assert sorted(causes) == sorted([titles["Bus passes"], titles["Night buses"]])
    mail_sender.send_due(database, mail_settings, links, plan=False)
    mail_sender.send_due(database, mail_settings, links, plan=False)
    [received] = [
        r for r in sink.to("ada@example.org") if "go on to the next event" in r.message["Subject"]
    ]
    assert (
        received.message["Subject"]
        == "Your actions from Healthy towns 2025 go on to the next event"
    )
    body = received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Bus passes" in body and "Night buses" in body and "Old timetable" not in body
    assert "/a/" in body  # each action's private link
    assert not [r for r in sink.received if "sam@example.org" in r.rcpt_tos]


def test_the_carried_work_goes_up_once_as_a_progress_session(
    client: TestClient, make: Factory, clock: Clock
) -> None:
    last = a_year_on(make)
    this = make.event(last.organiser, name="Healthy towns 2026", starts_on=NEXT_YEAR)
    log_in(client, last.organiser.email)
    address = f"/organiser/events/{this.id}/carried"
    progress = f"{address}/progress-session"
    too_soon = post_form(client, progress, {"display_name": "Olu Organiser"})
    assert too_soon.status_code == 409  # type: ignore[attr-defined]
    post_form(client, address, {"from_event_id": str(last.event.id)})
    unnamed = post_form(client, progress, {"display_name": ""})
    assert unnamed.status_code == 422  # type: ignore[attr-defined]
    for _ in range(2):
        made = post_form(client, progress, {"display_name": "Olu Organiser"})
        assert made.status_code == 303  # type: ignore[attr-defined]
    with make.database.read() as session:
        [topic] = session.exec(select(Topic).where(Topic.event_id == this.id)).all()
        convener = session.get_one(Participant, topic.convener_id)
    assert (
        topic.title == "Progress on last year's work" and convener.display_name == "Olu Organiser"
    )
    assert "• Tenants' forum (Council team)" in topic.description
    assert "• Night bus pilot (Council team)" in topic.description
    assert "Damp checks" not in topic.description  # done, not carried
    shown = _section(client.get(address).text, "progress")
    assert "“Progress on last year's work” is in the marketplace" in shown
    assert topic.slot_id is None  # the facilitators place it on the wall
