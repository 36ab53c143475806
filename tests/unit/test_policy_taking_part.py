"""Who may change who took part in a session, and an action: the policy as a table of role ×
action."""

import pytest

from app.models import Action
from app.services import policy

AHMED, MARIA, TOOK_PART, STRANGER, TYPIST = 1, 2, 3, 4, 5
ROLL = policy.Roll(conveners=frozenset({MARIA}), taking_part=frozenset({AHMED, TOOK_PART, TYPIST}))
ROLES = {
    "the person themselves": policy.Asker(participant_id=AHMED),
    "a convener": policy.Asker(participant_id=MARIA),
    "someone who took part": policy.Asker(participant_id=TOOK_PART),
    "someone who never came": policy.Asker(participant_id=STRANGER),
    "whoever typed the name": policy.Asker(participant_id=TYPIST),
    "a facilitator": policy.FACILITATOR,
}
ACTIONS = {
    "take Ahmed off": lambda who: policy.may_take_off(who, AHMED, ROLL),
    "take a typed name off": lambda who: policy.may_take_off(who, None, ROLL, typed_by=TYPIST),
    "add a colleague": lambda who: policy.may_add(who, None, ROLL),
    "add Ahmed back": lambda who: policy.may_add(who, AHMED, ROLL),
    "add themselves": lambda who: policy.may_add(who, who.participant_id, ROLL),
}
# role: (take Ahmed off, take a typed name off, add a colleague, add Ahmed back, add themselves)
TABLE = {
    "the person themselves": (True, False, True, True, True),
    "a convener": (True, True, True, True, True),
    "someone who took part": (False, False, True, True, True),
    "someone who never came": (False, False, False, False, True),
    "whoever typed the name": (False, True, True, True, True),
    "a facilitator": (True, True, True, True, True),
}


@pytest.mark.parametrize(
    ("role", "action"), [(role, action) for role in TABLE for action in ACTIONS]
)
def test_policy_taking_part_role_action_allowed_as_in_table(role: str, action: str) -> None:
    expected = dict(zip(ACTIONS, TABLE[role], strict=True))[action]
    assert ACTIONS[action](ROLES[role]) is expected


def test_policy_taking_part_table_covers_every_role() -> None:
    assert set(TABLE) == set(ROLES)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("who wrote it down", True),
        ("its owner", True),
        ("a convener", True),
        ("someone else", False),
        ("a facilitator", False),
    ],
)
def test_policy_change_action_role_allowed_as_in_table(role: str, expected: bool) -> None:
    action = Action(event_id=1, report_id=1, title="Open on Sundays", created_by_id=7, owner_id=8)
    who = {
        "who wrote it down": policy.Asker(participant_id=7),
        "its owner": policy.Asker(participant_id=8),
        "a convener": policy.Asker(participant_id=MARIA),
        "someone else": policy.Asker(participant_id=STRANGER),
        "a facilitator": policy.FACILITATOR,
    }[role]
    assert policy.may_change_action(who, action, frozenset({MARIA})) is expected
