"""The demo event: a realistic day to try everything on."""

import random
import secrets
from contextlib import suppress
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from app.models import (
    ActionStatus,
    ContributionKind,
    Event,
    Organiser,
    Participant,
    SlotKind,
    Topic,
)
from app.models.agenda import TopicCreate
from app.models.base import utcnow
from app.models.event import EventCreate, SlotCreate, SpaceCreate, ThemeCreate
from app.models.mail import MessageKind, MessageState, Purpose
from app.models.outcomes import (
    ActionForm,
    ContributionCreate,
    PledgeAnswerForm,
    PledgeForm,
    ProgressForm,
)
from app.models.people import OrganiserCreate, ParticipantJoin
from app.services import (
    actions,
    contributions,
    demo_last_year,
    mail,
    mail_causes,
    marketplace,
    outbox,
    pledges,
    reports,
    signups,
    wall,
)
from app.services import events as event_service
from app.services.accounts import create_organiser, organiser_by_email, set_password
from app.services.errors import Refused
from app.services.outbox import Letter
from app.services.participants import join_event

DEMO_EMAIL = "organiser@example.org"
DEMO_NAME = "Reducing inequalities together"

SPACES = [
    ("Main hall", 120, "Step-free; hearing loop; reserved seats at the front"),
    ("Room 1 – Kala", 30, "Step-free; hearing loop"),
    ("Room 2 – Sangam", 24, "Step-free"),
    ("Studio", 40, "Lift to first floor; quiet room next door"),
    ("Garden", 20, "Outdoors; level paths; bring a coat"),
    ("Café corner", 12, "Step-free; can be noisy"),
]

THEMES = [
    (
        "Listening to and working with communities",
        "Co-producing solutions with the communities most affected.",
    ),
    (
        "Taking a targeted approach to where and how resources are spent",
        "Weighting resources in line with inequalities, such as by deprivation.",
    ),
    (
        "Encouraging continuous learning and development around health inequalities",
        "Training, shared learning and measuring what works.",
    ),
]

TOPICS = [
    "Digital exclusion and GP appointments",
    "Poverty Truth Commission: what next?",
    "Translators and interpreters on the front line",
    "Cost of living and mental health",
    "Making our jobs reachable for local people",
    "Data we already have about unequal access",
    "Young carers we do not see",
    "Warm spaces after the winter",
    "Anchor institutions buying locally",
    "Health checks in mosques, temples and churches",
    "Transport to hospital appointments",
    "Listening to people with learning disabilities",
    "Racism in recruitment",
    "Social prescribing that reaches everyone",
    "Housing damp and children's asthma",
    "Measuring what matters, not what is easy",
    "Men's health and suicide prevention",
    "Maternity outcomes for Black and Asian women",
    "Funding small community groups fairly",
    "Training every new starter on inequalities",
]

NAMES = [
    "Amira Hussain",
    "Tomasz Kowalski",
    "Zofia Wiśniewska",
    "Priya Patel",
    "Darren Walsh",
    "محمد اقبال",
    "عائشہ خان",
    "فاطمة الزهراء",
    "Siobhán Ní Bhriain",
    "Kwame Mensah",
    "Olamide Adeyemi",
    "Łukasz Zieliński",
    "Małgorzata Nowak",
    "রহিম উদ্দিন",
    "সুমাইয়া বেগম",
    "陈静",
    "王伟",
    "Анна Иванова",
    "Дмитрий Петров",
    "Γιώργος Παπαδόπουλος",
    "राजेश कुमार",
    "ਗੁਰਪ੍ਰੀਤ ਕੌਰ",
    "Aisha Begum 🌻",
    "Jamie O'Connor",
    "Sam Taylor",
    "Ruth Brennan",
    "Imran Akhtar",
    "Nadia Rahman",
    "Chloé Dubois",
    "José Álvarez",
    "Mehmet Yılmaz",
    "Elif Şahin",
    "Nguyễn Văn An",
    "Hana Novák",
    "Björn Lindqvist",
    "Sarah Cohen",
    "David Levi",
    "Chidi Okafor",
    "Grace Achieng",
    "Tendai Moyo",
    "Shabana Parveen",
    "Yusuf Ali",
    "Kirsty McLeod",
    "Owen Jones",
    "Rhiannon Evans",
    "Bilal Chaudhry",
    "Saima Iqbal 💬",
    "Pawel Mazur",
    "Iwona Lewandowska",
    "Dev Sharma",
    "Leila Haddad",
    "Omar Farouk",
    "Helen Wright",
    "Martin Clarke",
    "Joy Thompson",
    "Emeka Eze",
    "Mariam Yusuf",
    "Kasia Wójcik",
    "Ahmed Raza",
    "Lucy Brown",
]

ORGANISATIONS = [
    "Bradford Teaching Hospitals",
    "Reducing Inequalities Alliance",
    "Age UK",
    "City Council",
    "Community Health Champions",
    "Carers' Resource",
    "Local GP practice",
    "Housing association",
    "",
    "",
]


def demo_event(session: Session) -> Event | None:
    """The demo event, if it has been made."""
    return session.exec(select(Event).where(Event.name == DEMO_NAME)).first()


def create_demo(session: Session, day: date | None = None) -> tuple[Event, Organiser, str]:
    """Make the demo organiser and event; returns them and the organiser's new password."""
    rng = random.Random(2023)
    password = secrets.token_urlsafe(9)
    organiser = organiser_by_email(session, DEMO_EMAIL)
    if organiser is None:
        organiser = create_organiser(
            session, OrganiserCreate(email=DEMO_EMAIL, name="Demo Organiser", password=password)
        )
    else:
        set_password(session, organiser, password)
    day = day or date.today() + timedelta(days=14)
    event = event_service.create_event(
        session,
        organiser,
        EventCreate(
            name=DEMO_NAME,
            theme_question=(
                "What will each of us do, starting tomorrow, to reduce inequalities "
                "in our district?"
            ),
            starts_on=day,
            timezone="Europe/London",
            venue="Kala Sangam arts centre, Bradford",
        ),
    )
    for name, capacity, notes in SPACES:
        event_service.add_space(
            session, event, SpaceCreate(name=name, capacity=capacity, access_notes=notes)
        )
    for start, end, kind, title in [
        (time(9, 30), time(10, 30), SlotKind.plenary, "Opening circle and marketplace"),
        (time(10, 45), time(11, 45), SlotKind.breakout, "Round 1"),
        (time(12, 30), time(13, 30), SlotKind.breakout, "Round 2"),
        (time(13, 45), time(14, 45), SlotKind.breakout, "Round 3"),
    ]:
        event_service.add_slot(
            session,
            event,
            SlotCreate(
                starts_at=datetime.combine(day, start),
                ends_at=datetime.combine(day, end),
                kind=kind,
                title=title,
            ),
        )
    for name, description in THEMES:
        event_service.add_theme(session, event, ThemeCreate(name=name, description=description))
    people: list[Participant] = []
    for name in NAMES:
        email = f"p{len(people) + 1}@example.org" if rng.random() < 0.4 else ""
        people.append(
            join_event(
                session,
                event,
                ParticipantJoin(
                    display_name=name, organisation=rng.choice(ORGANISATIONS), email=email
                ),
            )
        )
    marketplace.open_marketplace(session, event, True)
    theme_ids = [theme.id for theme in event_service.themes(session, event) if theme.id]
    topics = [
        marketplace.propose_topic(
            session,
            event,
            convener,
            TopicCreate(title=title),
            theme_ids=rng.sample(theme_ids, rng.randint(0, 2)),
        )
        for title, convener in zip(TOPICS, rng.sample(people, len(TOPICS)), strict=True)
    ]
    for person in people:
        for topic in rng.sample(topics, rng.randint(1, 4)):
            marketplace.set_interest(session, topic, person, True)
    # Most topics are already on the wall, as they would be half an hour in; a few still wait.
    cards = marketplace.topic_cards(session, event)
    board = wall.build_wall(
        session,
        event,
        cards,
        event_service.slots(session, event),
        event_service.spaces(session, event),
    )
    for card, slot, space in wall.suggest_allocation(session, board)[:14]:
        wall.move_by_facilitator(session, event, card.topic, slot.id, space.id)
    placed = [topic for topic in topics if topic.placed]
    for topic in placed:  # conveners sit in their own sessions
        convener = session.get(Participant, topic.convener_id)
        assert convener is not None
        signups.sign_up(session, event, topic, convener)
    conveners = {topic.convener_id for topic in topics}
    for person in [p for p in people if p.id not in conveners][:40]:
        for topic in rng.sample(placed, 3):
            with suppress(Refused):  # a full room: they sit elsewhere
                signups.sign_up(session, event, topic, person)
    _first_reports(session, event, placed[:2], people)
    _the_months_after(session, event, people)
    demo_last_year.create_last_year(session, organiser, event)
    return event, organiser, password


# Each report its own words: the same text under two sessions read, in the book, as if one
# session's key points had leaked into another's report.
REPORTS = [
    [
        (
            ContributionKind.key_point,
            "People who most need warm spaces do not know where they are.",
        ),
        (ContributionKind.key_point, "Libraries, mosques and churches already open their doors."),
        (ContributionKind.next_step, "Meet again in a month, at the library."),
    ],
    [
        (ContributionKind.key_point, "Children still interpret for their parents at the GP."),
        (ContributionKind.key_point, "Booking an interpreter takes longer than the appointment."),
        (ContributionKind.next_step, "Ask the practice managers' forum to share one booking line."),
    ],
]
ACTIONS = [
    ("Map every warm space in the district", "Bradford Libraries", "Ask each ward for its list"),
    ("Print the map in five languages", "", "Find volunteer translators"),
]


def _first_reports(
    session: Session, event: Event, topics: list[Topic], people: list[Participant]
) -> None:
    """Two sessions have started their reports; the first is complete, with actions."""
    for n, topic in enumerate(topics):
        writers = [p for p in people if p.id != topic.convener_id][n * 3 : n * 3 + 3]
        for (kind, body), writer in zip(REPORTS[n], writers, strict=False):
            contributions.contribute(
                session, event, topic, writer, ContributionCreate(kind=kind, body=body)
            )
        if n:
            continue
        for title, owner_name, first_step in ACTIONS:
            actions.add_action(
                session,
                event,
                topic,
                writers[0],
                ActionForm(
                    title=title,
                    owner_name=owner_name,
                    first_step=first_step,
                    status=ActionStatus.agreed,
                    due_on=event.starts_on + timedelta(days=60),
                ),
                owner_id=None if owner_name else writers[1].id,
            )
        convener = session.get_one(Participant, topic.convener_id)
        reports.complete_report(session, event, topic, convener, True)


PLEDGES = [
    ("Ask every new patient which language they want their letters in.", True),
    ("Walk my team to the warm space at the library, so they can tell people about it.", True),
    ("Put the map of warm spaces up in our reception.", False),
]


def _the_months_after(session: Session, event: Event, people: list[Participant]) -> None:
    """What the Outbox shows from the start: postcards waiting for their day (and one to print,
    for someone with no address), an owner's private link waiting to go, an owner who answered
    a reminder by replying to it (an update by e-mail), and a pledge already answered."""
    with_address = [p for p in people if p.email]
    without = [p for p in people if not p.email]
    for (text, by_mail), person in zip(PLEDGES, [*with_address[:2], without[0]], strict=True):
        pledge = pledges.save_pledge(
            session, event, person, PledgeForm(text=text, postcard=by_mail)
        )
        if not by_mail:
            pledges.answer_pledge(
                session,
                pledge,
                PledgeAnswerForm(answer="Done the week after; people ask about it."),
            )
    owned = [a for a in actions.action_lines(session, event) if a.action.owner_id]
    owner = session.get(Participant, owned[0].action.owner_id) if owned else None
    if owner is None or owner.id is None:
        return
    if not owner.email:
        owner.email = "owner@example.org"
        session.add(owner)
    outbox.set_consent(session, owner.id, Purpose.actions, True)
    for line in owned:
        # An owner given an action before asking for mail hears of it once they ask.
        mail_causes.action_owned(session, event, line.action)
    # Reminded two days ago, the owner answered by replying to the e-mail: an update by mail.
    sent_at = utcnow() - timedelta(days=2)
    reminder, _new = outbox.enqueue(
        session,
        f"remind-now:{owned[0].action.id}:demo",
        Letter(
            kind=MessageKind.reminder,
            to_address=owner.email,
            to_name=owner.display_name,
            language=event.offered[0],
            subject=mail.subject(MessageKind.reminder, event, event.offered[0]),
            due_at=sent_at,
            event_id=event.id,
            participant_id=owner.id,
        ),
        action_id=owned[0].action.id,
    )
    reminder.state, reminder.sent_at, reminder.attempts = MessageState.sent, sent_at, 1
    session.add(reminder)
    actions.post_progress(
        session,
        owned[0].action,
        ProgressForm(
            status=ActionStatus.in_progress,
            note="The libraries sent their list; two wards still to reply.",
        ),
        via_link=False,
        via_mail=True,
        written_by=owner.display_name,
    )
