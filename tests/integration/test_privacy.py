"""People's data: erasure leaves a person's name, address and organisation (and, asked for,
what they wrote) in no text column of any table, in no export and not in the archive."""

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import String, Text, TypeDecorator
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import Database
from app.models import Event, Participant, Topic, metadata
from app.models.agenda import TopicCreate
from app.models.mail import Message, MessageAttempt, MessageKind, MessageState, Purpose
from app.models.outcomes import (
    ActionForm,
    ActionStatus,
    ContributionCreate,
    GroupForm,
    PledgeForm,
    ProgressForm,
)
from app.models.privacy import ERASED_NAME, ErasedBy, Erasure, ErasureMode
from app.services import (
    actions,
    archive,
    audit,
    contributions,
    convergence,
    mail_sender,
    marketplace,
    outbox,
    pledges,
    privacy,
    signups,
    taking_part,
    wall,
)
from app.services.events import team
from app.services.mail import Links
from app.services.policy import FACILITATOR
from app.web.organiser.exports import EVENT_FORMATS, event_file
from tests.factories import Factory
from tests.mail_sink import MailSink

NAME, EMAIL, ORGANISATION = "Zebedee Quixote", "zq@quixote.example", "Quixotic Trust"
# What the person wrote: gone after "delete what I wrote too".
WRITTEN = (
    "Zany first draft about buses",
    "Zany second thought about buses",
    "I pledge to zigzag to work",
    "Zephyr progress on the bus passes",
    "Zigzag progress on night routes",
)
OTHERS = "Amira Hussain"


@dataclass
class Day:
    event: Event
    person: Participant
    other: Participant
    topic: Topic


def everything_done(make: Factory) -> Day:
    """An event where one person did everything a participant can do, and others typed their
    name and address where people type names."""
    event = make.event(starts_on=date(2027, 5, 4))
    slot = make.slot(event, time(10), time(11))
    room, hall = make.space(event, "Room 1", capacity=1), make.space(event, "Hall")
    person = make.participant(event, NAME, EMAIL)
    other = make.participant(event, OTHERS, "amira@example.org")
    with make.database.write() as session:
        person = session.get_one(Participant, person.id)
        other = session.get_one(Participant, other.id)
        person.organisation = ORGANISATION
        session.add(person)
        event = session.get_one(Event, event.id)
        assert person.id is not None
        outbox.set_consent(session, person.id, Purpose.actions, True)
        mine = marketplace.propose_topic(
            session, event, person, TopicCreate(title="Buses at night"), at_the_desk=True
        )
        theirs = marketplace.propose_topic(
            session, event, other, TopicCreate(title="Housing"), at_the_desk=True
        )
        wall.move_by_facilitator(session, event, mine, slot.id, hall.id)
        wall.move_by_facilitator(session, event, theirs, slot.id, room.id)
        marketplace.set_interest(session, theirs, person, True)
        signups.join_waitlist(session, event, theirs, person)
        written = contributions.contribute(
            session, event, mine, person, ContributionCreate(body=WRITTEN[0])
        )
        contributions.edit_contribution(
            session, event, written.id or 0, person, WRITTEN[1], written.version
        )
        contributions.contribute(
            session, event, mine, other, ContributionCreate(body="Buses every ten minutes")
        )
        taking_part.set_taking_part(session, event, mine, FACILITATOR, name=NAME.upper())
        owned = actions.add_action(
            session,
            event,
            mine,
            other,
            ActionForm(title="Free bus passes", status=ActionStatus.agreed),
            owner_id=person.id,
        )
        typed = actions.add_action(
            session, event, mine, other, ActionForm(title="Night routes", owner_name=NAME)
        )
        actions.edit_action(
            session,
            event,
            owned,
            person,
            ActionForm(title="Free bus passes", status=ActionStatus.in_progress),
            owner_id=person.id,
        )
        actions.post_progress(
            session,
            owned,
            ProgressForm(status=ActionStatus.in_progress, note=WRITTEN[3]),
            via_link=True,
            written_by="",
        )
        actions.post_progress(
            session,
            typed,
            ProgressForm(status=ActionStatus.agreed, note="Asked the council", by=NAME),
            via_link=False,
            written_by="",
        )
        actions.post_progress(
            session,
            typed,
            ProgressForm(status=ActionStatus.agreed, note=WRITTEN[4]),
            via_link=False,
            written_by=NAME,
            author_id=person.id,  # as their own pages post it
        )
        convergence.group_actions(
            session, event, [typed.id or 0], GroupForm(name="Transport", initiator=NAME)
        )
        convergence.open_vote(session, event, True)
        convergence.place_dot(session, event, person, "action", owned.id or 0)
        pledges.save_pledge(
            session, event, person, PledgeForm(text=WRITTEN[2], postcard=True, email=EMAIL)
        )
        audit.record(
            session,
            event.id,
            "Olu Organiser <olu@example.org>",
            "POST /organiser/…: change an action",
            f"owner_name='{NAME}', email='{EMAIL}', organisation='{ORGANISATION}'",
        )
        refused = Message(
            event_id=event.id,
            participant_id=person.id,
            kind=MessageKind.test,
            to_address=EMAIL,
            to_name=NAME,
            subject=f"For {NAME}",
            message_id=outbox.new_message_key(),
            state=MessageState.failed,
            last_error=f"550 no mailbox {EMAIL}",
        )
        session.add(refused)
        session.flush()
        session.add(
            MessageAttempt(
                message_id=refused.id or 0,
                outcome=MessageState.failed,
                reply=f"550 <{EMAIL}>: no such user",
            )
        )
        return Day(event, person, other, mine)


def found_in_tables(session: Session, needles: tuple[str, ...]) -> list[str]:
    """Every table.column (found from the metadata) whose text holds one of the needles."""
    wanted = [needle.casefold() for needle in needles]
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            stored = column.type
            stored = stored.impl_instance if isinstance(stored, TypeDecorator) else stored
            if not isinstance(stored, String | Text):  # Text is a String too
                continue
            for (value,) in session.execute(select_columns(column).where(column.is_not(None))):
                if any(needle in str(value).casefold() for needle in wanted):
                    found.append(f"{table.name}.{column.name}: {value!r}")
    return found


def found_in_files(
    session: Session, settings: Settings, event: Event, needles: tuple[str, ...]
) -> list[str]:
    """Every export format (and every member of the zipped ones) that holds a needle."""
    found = []
    for fmt in EVENT_FORMATS:
        content = event_file(session, settings, event, fmt)
        parts = [content]
        if content[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(content)) as zipped:
                parts = [zipped.read(name) for name in zipped.namelist()]
        for part in parts:
            text = part.decode("utf-8", "replace").casefold()
            found += [f"{fmt}: {n}" for n in needles if n.casefold() in text]
    return found


def _erase(database: Database, day: Day, mode: ErasureMode) -> Erasure:
    with database.write() as session:
        event = session.get_one(Event, day.event.id)
        person = session.get_one(Participant, day.person.id)
        return privacy.erase(session, event, person, mode, ErasedBy.person)


def test_name_off_leaves_the_name_address_and_organisation_in_no_table_nor_file(
    make: Factory, database: Database, settings: Settings
) -> None:
    day = everything_done(make)
    with database.read() as session:
        before = found_in_tables(session, (NAME, EMAIL, ORGANISATION))
        assert any(f.startswith("auditentry.target") for f in before)
        assert any(f.startswith("messageattempt.reply") for f in before)
        assert found_in_files(session, settings, day.event, (NAME,))
    _erase(database, day, ErasureMode.name_off)
    with database.read() as session:
        assert found_in_tables(session, (NAME, EMAIL, ORGANISATION)) == []
        assert found_in_files(session, settings, day.event, (NAME, EMAIL, ORGANISATION)) == []
        # The group's record stays, their words with it; nobody else's name goes.
        assert found_in_tables(session, WRITTEN[1:3])
        assert found_in_tables(session, (OTHERS, "amira@example.org"))
        assert found_in_files(session, settings, day.event, (OTHERS,))
        assert session.get_one(Participant, day.person.id).display_name == ERASED_NAME


def test_everything_also_deletes_what_they_wrote_with_its_earlier_versions(
    make: Factory, database: Database, settings: Settings
) -> None:
    day = everything_done(make)
    _erase(database, day, ErasureMode.everything)
    with database.read() as session:
        assert found_in_tables(session, (NAME, EMAIL, ORGANISATION, *WRITTEN)) == []
        assert found_in_files(session, settings, day.event, (NAME, EMAIL, *WRITTEN)) == []
        assert found_in_tables(session, ("Buses every ten minutes", "Free bus passes"))


def test_erasure_cancels_the_messages_that_wait_for_the_person(
    make: Factory, database: Database
) -> None:
    day = everything_done(make)
    with database.read() as session:
        waiting = session.exec(
            select(Message).where(
                Message.participant_id == day.person.id, Message.state == MessageState.waiting
            )
        ).all()
    assert waiting  # the postcard and the action's private link
    _erase(database, day, ErasureMode.name_off)
    with database.read() as session:
        states = {
            m.state
            for m in session.exec(select(Message).where(Message.participant_id == day.person.id))
        }
        assert MessageState.waiting not in states
        assert not outbox.has_consent(session, day.person.id, Purpose.pledge)


def test_erasure_asked_twice_is_harmless_and_logged_without_the_data(
    make: Factory, database: Database
) -> None:
    day = everything_done(make)
    first = _erase(database, day, ErasureMode.name_off)
    again = _erase(database, day, ErasureMode.name_off)
    assert again.id == first.id
    deeper = _erase(database, day, ErasureMode.everything)
    assert _erase(database, day, ErasureMode.everything).id == deeper.id
    with database.read() as session:
        log = session.exec(select(Erasure).order_by(col(Erasure.id))).all()
        assert [(e.mode, e.asked_by) for e in log] == [
            (ErasureMode.name_off, ErasedBy.person),
            (ErasureMode.everything, ErasedBy.person),
        ]
        assert "contributions deleted: 1" in log[1].summary
        # Also the note they posted from their own pages, found by its author once their
        # name is off.
        assert "updates deleted: 2" in log[1].summary
        assert found_in_tables(session, (NAME, EMAIL, *WRITTEN)) == []


@pytest.mark.parametrize("mode", list(ErasureMode))
def test_erased_person_is_signed_out_everywhere(
    make: Factory, database: Database, mode: ErasureMode
) -> None:
    day = everything_done(make)
    _erase(database, day, mode)
    with database.read() as session:
        person = session.get_one(Participant, day.person.id)
        assert person.link_version == day.person.link_version + 1


def test_my_data_holds_every_row_of_the_person_and_nobody_elses(
    make: Factory, database: Database
) -> None:
    day = everything_done(make)
    with database.read() as session:
        data = privacy.my_data(
            session,
            session.get_one(Event, day.event.id),
            session.get_one(Participant, day.person.id),
        )
    assert data["you"] == {
        **data["you"],
        "name": NAME,
        "email": EMAIL,
        "organisation": ORGANISATION,
    }
    assert [t["title"] for t in data["topics_proposed"]] == ["Buses at night"]
    assert [s["topic"] for s in data["interests"]] == ["Housing"]
    assert [s["topic"] for s in data["waitlists"]] == ["Housing"]
    assert [c["text"] for c in data["contributions"]] == [WRITTEN[1]]
    assert [v["text"] for v in data["contributions"][0]["earlier_versions"]] == [WRITTEN[0]]
    assert [t["session"] for t in data["took_part"]] == ["Buses at night"]
    assert [(a["title"], a["you_own_it"]) for a in data["actions"]] == [("Free bus passes", True)]
    notes = [u["note"] for u in data["actions"][0]["updates"] if u["by_you"]]
    assert WRITTEN[3] in notes
    assert len(data["dots"]) == 1
    assert data["pledge"]["text"] == WRITTEN[2]
    assert {m["kind"] for m in data["messages"]} >= {"pledge_postcard", "action_owner"}
    assert {c["purpose"] for c in data["mail_consents"]} == {"actions", "pledge"}
    whole = json.dumps(data, ensure_ascii=False)
    assert OTHERS not in whole and "amira@example.org" not in whole
    assert "Buses every ten minutes" not in whole  # someone else's words in their session


def test_an_archive_made_before_an_erasure_does_not_bring_the_person_back(
    make: Factory, database: Database
) -> None:
    day = everything_done(make)
    with database.read() as session:
        event = session.get_one(Event, day.event.id)
        before = archive.dumps(archive.dump(session, event, archive.schema_revision(session)))
        organisers = [o.email for o, _role in team(session, event)]
    _erase(database, day, ErasureMode.everything)
    with database.write() as session:
        imported, notes = archive.load(
            session, io.BytesIO(before), "event.json", link_accounts=set(organisers)
        )
    assert any("erased again" in note for note in notes)
    with database.read() as session:
        assert found_in_tables(session, (NAME, EMAIL, ORGANISATION, *WRITTEN)) == []
        modes = session.exec(select(Erasure.mode).where(Erasure.event_id == imported.id)).all()
        assert modes == [ErasureMode.everything]


def test_every_message_links_the_events_privacy_notice(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Callable[[datetime], None],
) -> None:
    day = everything_done(make)
    clock(datetime(2027, 12, 1, 9, tzinfo=UTC))  # the postcard's day has come
    mail_sender.send_due(database, mail_settings, links)
    received = sink.to(EMAIL)
    assert {m.message["Subject"] for m in received} and len(received) >= 2
    notice = f"/e/{day.event.join_code}/privacy"
    for message in received:
        assert notice in message.part("plain") and notice in message.part("html")
