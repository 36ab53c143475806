"""Who may change a topic, withdraw it, put it back and pitch it: the policy as a table of
role × action, on a real database (a co-convener is a row of its own)."""

import pytest
from sqlmodel import Session

from app.db import Database
from app.models import CoConvener, Topic
from app.models.agenda import TopicCreate
from app.services import marketplace, policy
from tests.factories import Factory

ROLES = ("a facilitator", "its convener", "a co-convener", "someone else")
ACTIONS = (
    "edit it",
    "withdraw it",
    "put it back after withdrawing it",
    "put it back after a facilitator hid it",
    "edit it while withdrawn",
    "pitch it",
)
# role: one answer per action, in the order above (a facilitator runs the pitch queue from
# the front, taking people out of it, but pitches nobody's topic)
TABLE = {
    "a facilitator": (True, True, True, True, True, False),
    "its convener": (True, True, True, False, False, True),
    "a co-convener": (True, False, False, False, False, True),
    "someone else": (False, False, False, False, False, False),
}


@pytest.mark.parametrize("role", ROLES)
def test_topic_policy_role_action_allowed_as_in_table(
    role: str, database: Database, make: Factory
) -> None:
    event = make.event()
    convener, co, other = (make.participant(event, name) for name in ("Maria", "Co", "Other"))
    who = {
        "a facilitator": policy.FACILITATOR,
        "its convener": policy.participant(convener),
        "a co-convener": policy.participant(co),
        "someone else": policy.participant(other),
    }[role]
    with database.write() as session:
        proposed = marketplace.propose_topic(
            session, event, convener, TopicCreate(title="Damp homes"), at_the_desk=True
        )
        session.add(CoConvener(topic_id=proposed.id or 0, participant_id=co.id or 0))
        topic_id = proposed.id or 0

    def topic(session: Session) -> Topic:
        return session.get_one(Topic, topic_id)

    answers: list[bool] = []
    with database.write() as session:
        answers.append(policy.may_edit_topic(session, who, topic(session)))
        answers.append(policy.may_withdraw_topic(who, topic(session)))
        marketplace.withdraw_topic(session, topic(session), policy.participant(convener), True)
    with database.write() as session:
        answers.append(policy.may_withdraw_topic(who, topic(session)))
        withdrawn_edit = policy.may_edit_topic(session, who, topic(session))
        marketplace.withdraw_topic(session, topic(session), policy.participant(convener), False)
        marketplace.set_hidden(session, topic(session), True)  # the facilitator's hide
    with database.write() as session:
        answers.append(policy.may_withdraw_topic(who, topic(session)))
        answers.append(withdrawn_edit)
        answers.append(policy.may_pitch(session, who, topic(session)))
    assert dict(zip(ACTIONS, answers, strict=True)) == dict(zip(ACTIONS, TABLE[role], strict=True))


def test_topic_policy_table_covers_every_role() -> None:
    assert set(TABLE) == set(ROLES)
