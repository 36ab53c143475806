"""Plain factories: make the rows a test needs, committed, through the services."""

from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from app.db import Database
from app.models import Event, Organiser, Participant, Slot, SlotKind, Space, Theme, Topic
from app.models.agenda import TopicCreate
from app.models.event import EventCreate, SlotCreate, SpaceCreate
from app.models.outcomes import (
    ActionForm,
    ActionStatus,
    ContributionCreate,
    ContributionKind,
    PledgeForm,
)
from app.models.people import OrganiserCreate, ParticipantJoin
from app.services import (
    accounts,
    actions,
    contributions,
    events,
    marketplace,
    participants,
    pledges,
    signups,
    wall,
)

PASSWORD = "correct horse battery"
# What a spreadsheet would run as a formula, were it not neutralised.
INJECTION = '=HYPERLINK("http://evil.example","click")'


class Factory:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._count = 0

    def _n(self) -> int:
        self._count += 1
        return self._count

    def organiser(self, email: str | None = None, name: str = "Olu Organiser") -> Organiser:
        with self.database.write() as session:
            return accounts.create_organiser(
                session,
                OrganiserCreate(
                    email=email or f"organiser{self._n()}@example.org", name=name, password=PASSWORD
                ),
            )

    def event(self, organiser: Organiser | None = None, **fields: object) -> Event:
        organiser = organiser or self.organiser()
        data = {
            "name": "Reducing inequalities together",
            "starts_on": date.today() + timedelta(days=30),
        }
        data.update(fields)
        with self.database.write() as session:
            return events.create_event(session, organiser, EventCreate.model_validate(data))

    def space(self, event: Event, name: str = "Room 1", capacity: int = 20) -> Space:
        with self.database.write() as session:
            return events.add_space(session, event, SpaceCreate(name=name, capacity=capacity))

    def slot(
        self, event: Event, start: time, end: time, kind: SlotKind = SlotKind.breakout
    ) -> Slot:
        with self.database.write() as session:
            return events.add_slot(
                session,
                event,
                SlotCreate(
                    starts_at=datetime.combine(event.starts_on, start),
                    ends_at=datetime.combine(event.starts_on, end),
                    kind=kind,
                ),
            )

    def participant(
        self, event: Event, name: str = "Amira Hussain", email: str = "", *, share: bool = False
    ) -> Participant:
        with self.database.write() as session:
            return participants.join_event(
                session,
                event,
                ParticipantJoin(display_name=name, email=email, share_email=share),
            )


def count(database: Database, model: type[SQLModel]) -> int:
    """How many rows of this kind are stored."""
    with database.read() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def placed_topic(
    make: Factory,
    event: Event,
    slot: Slot,
    space: Space,
    title: str = "Warm spaces",
    *,
    convener_seated: bool = False,
) -> Topic:
    """A topic by a new convener, on the wall at this slot and space; every seat free unless
    the convener holds hers (else she said she will be elsewhere)."""
    convener = make.participant(event, f"Convener of {title}")
    with make.database.write() as session:
        topic = marketplace.propose_topic(
            session, event, convener, TopicCreate(title=title), at_the_desk=True
        )
        assert convener.id is not None
        signups.convener_elsewhere(session, topic, convener.id, not convener_seated)
        wall.move_by_facilitator(session, event, topic, slot.id, space.id)
        return topic


def outcomes_event(make: Factory) -> tuple[Organiser, Event, Topic, Topic]:
    """An event with reports and actions to export: names in Polish and Urdu, one e-mail
    shared and one kept private, a theme, and a formula-injection payload."""
    organiser = make.organiser("exports@example.org")
    event = make.event(
        organiser,
        name="Łódź — اردو day",
        starts_on=date(2027, 5, 4),
        theme_question="How do we leave nobody behind?",
    )
    morning = make.slot(event, time(10, 0), time(11, 0))
    afternoon = make.slot(event, time(14, 0), time(15, 0))
    hall = make.space(event, "Hall", 50)
    first = placed_topic(make, event, morning, hall, "Transport")
    second = placed_topic(make, event, afternoon, hall, "Housing")
    owner = make.participant(event, "Zażółć Gęślą", "zazolc@example.pl", share=True)
    urdu = make.participant(event, "عائشہ خان", "private@example.org")
    with make.database.write() as session:
        mobility = Theme(event_id=event.id or 0, name="Mobility", position=1)
        session.add(mobility)
        session.flush()
        for topic, by, data, owner_id, themes in (
            (
                first,
                owner,
                ActionForm(
                    title="Free bus passes for carers",
                    status=ActionStatus.agreed,
                    due_on=date(2027, 9, 1),
                ),
                owner.id,
                [mobility.id or 0],
            ),
            (
                first,
                urdu,
                ActionForm(title="اردو میں معلومات", status=ActionStatus.done),
                urdu.id,
                [],
            ),
            (
                second,
                owner,
                ActionForm(title=INJECTION, owner_name="-1+1", status=ActionStatus.proposed),
                None,
                [],
            ),
        ):
            actions.add_action(
                session,
                event,
                session.get_one(Topic, topic.id),
                by,
                data,
                owner_id=owner_id,
                theme_ids=themes,
            )
        transport = session.get_one(Topic, first.id)
        for author, kind, body in (
            (urdu, ContributionKind.key_point, "بس کا کرایہ *آدھا* ہو"),
            (owner, ContributionKind.key_point, "Night buses # matter <b>most</b>"),
            (owner, ContributionKind.next_step, "Meet the council in June"),
        ):
            contributions.contribute(
                session, event, transport, author, ContributionCreate(kind=kind, body=body)
            )
    return organiser, event, first, second


def pledged_postcards(
    session: Session, event: Event, addresses: list[str], remind_on: date | None = None
) -> None:
    """A person of the event for each address, who pledged and asked for their postcard."""
    for n, address in enumerate(addresses):
        person = participants.join_event(
            session, event, ParticipantJoin(display_name=f"Person {n}")
        )
        form = PledgeForm(text=f"Pledge {n}", postcard=True, email=address, remind_on=remind_on)
        pledges.save_pledge(session, event, person, form)
