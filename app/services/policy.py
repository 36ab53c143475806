"""Who may do what, in one place and in the product's words.

A service asks here before it changes anything, so that no path forgets a rule; the web
layer asks too, to offer only what a person may do.
"""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import Action, CoConvener, Contribution, Participant, SignUp, Topic, WaitlistEntry
from app.services.errors import Refused


@dataclass(frozen=True)
class Asker:
    """Who asks for a change: a participant (from their phone, or the desk for them), or a
    facilitator (or organiser) running the day."""

    participant_id: int | None = None
    facilitator: bool = False


FACILITATOR = Asker(facilitator=True)


def participant(person: Participant) -> Asker:
    """A participant asking for themselves."""
    return Asker(participant_id=person.id)


# --- the agenda wall: putting sessions up and moving them ---------------------------------


def convenes(session: Session, who: Asker, topic: Topic) -> bool:
    """The asker is one of the topic's conveners."""
    if who.participant_id is None:
        return False
    if topic.convener_id == who.participant_id:
        return True
    found = session.exec(
        select(CoConvener.id).where(
            CoConvener.topic_id == topic.id, CoConvener.participant_id == who.participant_id
        )
    ).first()
    return found is not None


def others_signed_up(session: Session, topic: Topic) -> int:
    """How many people other than its conveners have a seat in the session or wait for one."""
    co = select(CoConvener.participant_id).where(CoConvener.topic_id == topic.id)

    def count(model: type[SignUp] | type[WaitlistEntry]) -> int:
        return session.exec(
            select(func.count())
            .select_from(model)
            .where(
                col(model.topic_id) == topic.id,
                col(model.participant_id) != topic.convener_id,
                ~col(model.participant_id).in_(co),
            )
        ).one()

    return count(SignUp) + count(WaitlistEntry)


def may_put_on_wall(session: Session, who: Asker, topic: Topic) -> bool:
    """Put a topic not yet on the wall in a free place: its conveners (first come wins, as
    on the paper wall) and facilitators."""
    return who.facilitator or convenes(session, who, topic)


def may_move(session: Session, who: Asker, topic: Topic) -> bool:
    """Move a session that is on the wall: facilitators (who also swap and take sessions off);
    its conveners only to a free place, and only while nobody else has a seat in it or waits
    for one. Moving people is the facilitator's, who sees first who keeps a seat and who
    waits; everyone is told."""
    if who.facilitator:
        return True
    return convenes(session, who, topic) and others_signed_up(session, topic) == 0


def check_may_place(session: Session, who: Asker, topic: Topic) -> None:
    """Refused, with the reason, unless the asker may put the topic on the wall, or move it
    there if it is on the wall already."""
    if (may_move if topic.placed else may_put_on_wall)(session, who, topic):
        return
    if not convenes(session, who, topic):
        raise Refused(_("Only the topic's conveners can put it on the wall."))
    raise Refused(
        _(
            "People have signed up to this session, so only a facilitator can move it now: "
            "they see first who keeps a seat, and everyone is told."
        )
    )


# --- a topic: its words, withdrawing it, pitching it ------------------------------------


def may_edit_topic(session: Session, who: Asker, topic: Topic) -> bool:
    """Change a topic's title, description, language and themes: facilitators, and its
    conveners while it is on the lists (hidden or merged, it is not theirs to change)."""
    if who.facilitator:
        return True
    return not topic.hidden and convenes(session, who, topic)


def may_withdraw_topic(who: Asker, topic: Topic) -> bool:
    """Withdraw a topic (or put it back): the convener who proposed it, not a co-convener
    (it would take the topic from her); a topic hidden by a facilitator, or merged into
    another, is not hers to show again. Facilitators hide and restore any topic."""
    if who.facilitator:
        return True
    if who.participant_id is None or topic.convener_id != who.participant_id:
        return False
    return topic.withdrawn or not topic.hidden


def may_pitch(session: Session, who: Asker, topic: Topic) -> bool:
    """Queue to pitch a topic, or leave the queue: its conveners."""
    return convenes(session, who, topic)


def check_may_edit_topic(session: Session, who: Asker, topic: Topic) -> None:
    if not may_edit_topic(session, who, topic):
        raise Refused(_("Only the topic's conveners can change it."))


def check_may_withdraw_topic(who: Asker, topic: Topic) -> None:
    if not may_withdraw_topic(who, topic):
        raise Refused(
            _(
                "Only the person who proposed this topic can withdraw it, or put it back "
                "after withdrawing it."
            )
        )


# --- who took part in a session, and its actions ------------------------------------------


@dataclass(frozen=True)
class Roll:
    """A session's list of who took part, and its conveners, as the rules see them."""

    conveners: frozenset[int]
    taking_part: frozenset[int]


def may_add(who: Asker, whom: int | None, roll: Roll) -> bool:
    """Add someone to who took part (`whom` None: a name typed by hand): anyone who took part
    (a colleague without a phone), its conveners, facilitators; anyone adds themselves."""
    if who.facilitator:
        return True
    me = who.participant_id
    return me is not None and (me == whom or me in roll.taking_part or me in roll.conveners)


def may_take_off(who: Asker, whom: int | None, roll: Roll, *, typed_by: int | None = None) -> bool:
    """Take someone off who took part (the book's "Taking part"): only the person themselves,
    the session's conveners and facilitators; a name typed by hand, also whoever typed it."""
    if who.facilitator:
        return True
    me = who.participant_id
    if me is None:
        return False
    if me in roll.conveners:
        return True
    return me == (typed_by if whom is None else whom)


def may_change_action(who: Asker, action: Action, conveners: frozenset[int]) -> bool:
    """Change an action: who wrote it down, its owner and the session's conveners."""
    me = who.participant_id
    return me is not None and (me in (action.created_by_id, action.owner_id) or me in conveners)


# --- what people wrote ------------------------------------------------------------------


def may_withdraw(who: Asker, contribution: Contribution) -> bool:
    """Only its author takes back (or puts back) what they wrote; a facilitator hides it."""
    if who.participant_id is None or contribution.author_id != who.participant_id:
        return False
    # Hidden by a facilitator: not the author's to show again.
    return contribution.withdrawn or not contribution.hidden


def check_may_withdraw(who: Asker, contribution: Contribution) -> None:
    if not may_withdraw(who, contribution):
        raise Refused(_("Only its author can take this back, and only while it is not hidden."))
