"""An event with reports and actions to export: names in Polish and Urdu, one e-mail shared
and one kept private, a theme, and a formula-injection payload."""

from datetime import date, time

import pytest

from app.models import Event, Organiser, Theme, Topic
from app.models.outcomes import ActionForm, ActionStatus, ContributionCreate, ContributionKind
from app.services import outcomes
from tests.factories import INJECTION, Factory, placed_topic


@pytest.fixture
def exported(make: Factory) -> tuple[Organiser, Event, Topic, Topic]:
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
            outcomes.add_action(
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
            outcomes.contribute(
                session, event, transport, author, ContributionCreate(kind=kind, body=body)
            )
    return organiser, event, first, second
