"""Last year's demo event, a year on: a finished day with a believable year after it (actions
done, late, gone quiet and dropped, pledges answered, updates dated over the months), whose
open work and pledges are carried into this year's demo event — so a new organiser sees the
dashboard, the "one year on" report and the carry-over at once."""

from contextlib import suppress
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from app.models import ActionStatus, Event, Organiser, Participant, SlotKind, Topic
from app.models.agenda import TopicCreate
from app.models.event import EventCreate, SlotCreate, SpaceCreate, ThemeCreate
from app.models.mail import Purpose
from app.models.outcomes import (
    ActionForm,
    ContributionCreate,
    ContributionKind,
    PledgeAnswerForm,
    PledgeForm,
    ProgressForm,
)
from app.models.people import ParticipantJoin
from app.services import (
    actions,
    carry_over,
    contributions,
    marketplace,
    outbox,
    pledges,
    reports,
    signups,
    wall,
)
from app.services import events as event_service
from app.services.errors import Refused
from app.services.participants import join_event

PEOPLE = [
    ("Ruth Brennan", "ruth@example.org"),
    ("Imran Akhtar", "imran@example.org"),
    ("Zofia Wiśniewska", ""),
    ("Kwame Mensah", "kwame@example.org"),
    ("عائشہ خان", ""),
    ("Helen Wright", "helen@example.org"),
    ("Dev Sharma", ""),
    ("Grace Achieng", "grace@example.org"),
]
# Title, convener (an index into PEOPLE), the aim (an index into the themes).
SESSIONS = [
    ("Warm spaces through the winter", 0, 0),
    ("GP letters in the language people read", 1, 1),
    ("Buses to the hospital after dark", 3, 1),
    ("Young carers nobody counts", 5, 2),
]
# Title, session, owner (an index into PEOPLE, or a name), due (days after the day), and what
# happened: (days after the day, status, note) for each update.
ACTIONS: list[tuple[str, int, int | str, int | None, list[tuple[int, ActionStatus, str]]]] = [
    (
        "Map every warm space in the district",
        0,
        0,
        60,
        [
            (21, ActionStatus.in_progress, "Libraries and two mosques on the map."),
            (55, ActionStatus.done, "Map printed and online; 41 places."),
        ],
    ),
    (
        "Keep the warm spaces open on Sundays",
        0,
        "Bradford Libraries",
        120,
        [(40, ActionStatus.in_progress, "Three libraries agreed; volunteers wanted.")],
    ),
    (
        "One booking line for interpreters",
        1,
        1,
        90,
        [
            (30, ActionStatus.in_progress, "Practice managers' forum said yes."),
            (150, ActionStatus.done, "The line opened in April."),
        ],
    ),
    (
        "Letters in Urdu, Polish and Bengali",
        1,
        2,
        180,
        [(70, ActionStatus.in_progress, "Templates translated; the system cannot print them yet.")],
    ),
    ("Ask the trust for a night shuttle", 2, 3, 150, []),
    (
        "Survey of patients who missed late appointments",
        2,
        "Healthwatch",
        200,
        [
            (45, ActionStatus.in_progress, "Questions agreed."),
            (210, ActionStatus.done, "212 answers; report sent to the trust."),
        ],
    ),
    (
        "Count young carers in every school",
        3,
        5,
        240,
        [
            (60, ActionStatus.in_progress, "Eleven schools of thirty have counted."),
            (200, ActionStatus.in_progress, "Twenty schools; the rest by the summer."),
            (340, ActionStatus.in_progress, "Twenty-six schools; the last four in June."),
        ],
    ),
    (
        "A young carers' card for pharmacies",
        3,
        7,
        120,
        [(90, ActionStatus.dropped, "The pharmacies' own scheme does this now.")],
    ),
    ("A young carers' café in the holidays", 3, "Carers' Resource", None, []),
]
# Text, author (an index into PEOPLE), answer months later ("" if not yet), days to answer.
PLEDGES = [
    (
        "Tell every new patient about the interpreter line.",
        1,
        "Done: it is on our front desk.",
        190,
    ),
    ("Bring my team to the warm space at the library once a month.", 0, "We went four times.", 200),
    ("Ask each school I visit how many young carers it knows of.", 5, "", 0),
    ("Learn to say 'how can I help?' in Urdu.", 6, "", 0),
]


def _at(day: date, days_after: int, hour: int = 10) -> datetime:
    return datetime.combine(day + timedelta(days=days_after), time(hour), tzinfo=UTC)


def create_last_year(session: Session, organiser: Organiser, this_year: Event) -> Event:
    """Last year's event a year on, finished, its year behind it; its open work carried into
    `this_year`."""
    day = this_year.starts_on - timedelta(days=364)
    event = event_service.create_event(
        session,
        organiser,
        EventCreate(
            name=f"{this_year.name} (last year)",
            theme_question="What will each of us do, starting tomorrow, to reduce inequalities?",
            starts_on=day,
            timezone=this_year.timezone,
            venue=this_year.venue,
        ),
    )
    spaces = [
        event_service.add_space(session, event, SpaceCreate(name=name, capacity=capacity))
        for name, capacity in (("Main hall", 80), ("Studio", 30))
    ]
    slots = [
        event_service.add_slot(
            session,
            event,
            SlotCreate(
                starts_at=datetime.combine(day, start),
                ends_at=datetime.combine(day, end),
                kind=SlotKind.breakout,
                title=title,
            ),
        )
        for start, end, title in (
            (time(10, 45), time(11, 45), "Round 1"),
            (time(12, 30), time(13, 30), "Round 2"),
        )
    ]
    for name, description in this_year_themes(session, this_year):
        event_service.add_theme(session, event, ThemeCreate(name=name, description=description))
    themes = [t.id or 0 for t in event_service.themes(session, event)]
    people = [
        join_event(session, event, ParticipantJoin(display_name=name, email=email))
        for name, email in PEOPLE
    ]
    marketplace.open_marketplace(session, event, True)
    topics: list[Topic] = []
    for n, (title, convener, aim) in enumerate(SESSIONS):
        topic = marketplace.propose_topic(
            session, event, people[convener], TopicCreate(title=title), theme_ids=[themes[aim]]
        )
        wall.move_by_facilitator(session, event, topic, slots[n // 2].id, spaces[n % 2].id)
        topics.append(topic)
    for n, person in enumerate(people):
        for topic in (topics[n % 2], topics[2 + n % 2]):
            with suppress(Refused):  # a convener keeps their own session's seat
                signups.sign_up(session, event, topic, person)
    _day(session, event, topics, people, themes)
    # They asked for mail about their actions after the day: their private links went then
    # (not written here), and they hear when their open work is carried into this year's.
    for person in people:
        if person.email:
            assert person.id is not None
            outbox.set_consent(session, person.id, Purpose.actions, True)
    marketplace.close_event(session, event, True)
    _the_year_after(session, event, people)
    carry_over.carry_open_actions(session, organiser, this_year, event.id)
    return event


def this_year_themes(session: Session, event: Event) -> list[tuple[str, str]]:
    """The aims of this year's framework: last year used the same."""
    return [(t.name, t.description) for t in event_service.themes(session, event)]


def _day(
    session: Session,
    event: Event,
    topics: list[Topic],
    people: list[Participant],
    themes: list[int],
) -> None:
    """The reports written on the day, with their actions."""
    for n, topic in enumerate(topics):
        writer = people[(n + 2) % len(people)]
        contributions.contribute(
            session,
            event,
            topic,
            writer,
            ContributionCreate(
                kind=ContributionKind.key_point, body=f"What we heard: {topic.title}."
            ),
        )
    written = _at(event.starts_on, 0, 15)
    for title, n, owner, due, _updates in ACTIONS:
        action = actions.add_action(
            session,
            event,
            topics[n],
            people[(n + 2) % len(people)],
            ActionForm(
                title=title,
                owner_name=owner if isinstance(owner, str) else "",
                status=ActionStatus.agreed,
                due_on=event.starts_on + timedelta(days=due) if due is not None else None,
            ),
            owner_id=people[owner].id if isinstance(owner, int) else None,
            theme_ids=[themes[SESSIONS[n][2]]],
        )
        action.created_at = action.updated_at = written
        session.add(action)
    for topic in topics:
        convener = session.get_one(Participant, topic.convener_id)
        reports.complete_report(session, event, topic, convener, True)


def _the_year_after(session: Session, event: Event, people: list[Participant]) -> None:
    """A year of progress, each update dated the day it was posted, and pledges answered."""
    lines = {line.action.title: line.action for line in actions.action_lines(session, event)}
    for title, _n, owner, _due, updates in ACTIONS:
        action = lines[title]
        who = owner if isinstance(owner, str) else people[owner].display_name
        for days_after, status, note in updates:
            update = actions.post_progress(
                session,
                action,
                ProgressForm(status=status, note=note),
                via_link=True,
                written_by=who,
            )
            update.created_at = action.updated_at = _at(event.starts_on, days_after)
            session.add_all([update, action])
    for text, author, answer, days_after in PLEDGES:
        pledge = pledges.save_pledge(session, event, people[author], PledgeForm(text=text))
        pledge.created_at = pledge.updated_at = _at(event.starts_on, 0, 16)
        if answer:
            pledges.answer_pledge(session, pledge, PledgeAnswerForm(answer=answer))
            pledge.answered_at = _at(event.starts_on, days_after)
        session.add(pledge)
    event.closed_at = _at(event.starts_on, 0, 17)
    session.add(event)
