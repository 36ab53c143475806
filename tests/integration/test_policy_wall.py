"""Who may put a session on the wall and move it: the policy as a table of role × action, on
a real database (a convener's right depends on who else signed up)."""

from datetime import time

import pytest
from sqlmodel import Session

from app.db import Database
from app.models import CoConvener, Topic
from app.models.agenda import TopicCreate
from app.services import marketplace, policy, signups, wall
from tests.factories import Factory

ROLES = ("a facilitator", "its convener", "a co-convener", "someone else")
ACTIONS = ("put it on the wall", "move it, only conveners in it", "move it, others signed up")
# role: (put it on the wall, move it with only conveners in it, move it with others in it)
TABLE = {
    "a facilitator": (True, True, True),
    "its convener": (True, True, False),
    "a co-convener": (True, True, False),
    "someone else": (False, False, False),
}


@pytest.mark.parametrize("role", ROLES)
def test_wall_policy_table(role: str, database: Database, make: Factory) -> None:
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    hall = make.space(event, "Hall", 10)
    convener, co, other = (make.participant(event, name) for name in ("Maria", "Co", "Other"))
    who = {
        "a facilitator": policy.FACILITATOR,
        "its convener": policy.participant(convener),
        "a co-convener": policy.participant(co),
        "someone else": policy.participant(other),
    }[role]

    def topic(session: Session) -> Topic:
        return session.get_one(Topic, topic_id)

    with database.write() as session:
        proposed = marketplace.propose_topic(
            session, event, convener, TopicCreate(title="Damp homes"), at_the_desk=True
        )
        session.add(CoConvener(topic_id=proposed.id or 0, participant_id=co.id or 0))
        topic_id = proposed.id or 0
    answers = []
    with database.write() as session:
        answers.append(policy.may_put_on_wall(session, who, topic(session)))
        wall.move_by_facilitator(session, event, topic(session), slot.id, hall.id)
    with database.write() as session:
        answers.append(policy.may_move(session, who, topic(session)))
        signups.sign_up(session, event, topic(session), other)
    with database.write() as session:
        answers.append(policy.may_move(session, who, topic(session)))
    assert dict(zip(ACTIONS, answers, strict=True)) == dict(zip(ACTIONS, TABLE[role], strict=True))
