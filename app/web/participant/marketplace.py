"""Participant pages of the marketplace and the wall: propose, show interest, sign up."""

from collections.abc import Callable
from typing import Any

from fastapi import Depends
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.i18n import _, lazy
from app.models import Event, Participant, Topic
from app.models.agenda import TopicCreate
from app.models.base import row_id, utcnow
from app.security import new_secret
from app.services import events as event_service
from app.services import live as live_service
from app.services import marketplace, policy, signups, wall
from app.services.errors import NotAllowed, NotFound, Refused
from app.templating import render, wants_fragment
from app.web.kit.common import see_other
from app.web.kit.deps import FormDep, RowId, verify_csrf
from app.web.kit.forms import form_values, once_key, row_ids, valid, validate
from app.web.kit.limits import rate_limited
from app.web.kit.routing import Router
from app.web.participant.attendee import (
    Attendee,
    AttendeeDep,
    done_notice,
    withdraw_question,
)
from app.web.public import live

router = Router(
    prefix="/e/{code}",
    dependencies=[Depends(verify_csrf), Depends(rate_limited)],
)

TOPIC_FIELDS = ("title", "description", "language")
# Suggestions for a session's language (what the person types is kept as typed).
LANGUAGES = [
    lazy("English"),
    lazy("Urdu"),
    lazy("Punjabi"),
    lazy("Polish"),
    lazy("Bengali"),
    lazy("Arabic"),
    lazy("BSL"),
    lazy("Welsh"),
]


def _topics_page(
    me: Attendee,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    propose_key: str | None = None,
) -> Response:
    ctx = me.wall_context()
    ctx.update(
        values=values or {},
        errors=errors or {},
        themes=event_service.themes(me.session, me.event),
        languages=LANGUAGES,
        propose_key=propose_key or new_secret(),
        **just_withdrawn(me),
    )
    # The live refresh asks for the list alone: an update of a few KB, not the whole page.
    block = "topic_list" if me.request.method == "GET" else None
    return render(me.request, "participant/topics.html", ctx, block=block, status_code=status_code)


@router.get("/topics")
def topics_page(me: AttendeeDep) -> Response:
    return me.fresh(lambda: _topics_page(me))


def _propose_again(
    me: Attendee, form: FormData, values: dict[str, str], errors: dict[str, str], error: str
) -> Response:
    """A refused proposal: the topics page, the words kept, the reason by the title."""
    typed = form_values(form, *TOPIC_FIELDS)
    values = {**values, "themes": ",".join(str(t) for t in row_ids(form.getlist("themes")))}
    return _topics_page(
        me,
        values=values,
        errors=errors or {"title": error},
        status_code=422,
        propose_key=once_key(form.get("propose_key"), typed),
    )


@router.post("/topics", again=_propose_again)
def propose(me: AttendeeDep, form: FormDep) -> Response:
    data = valid(TopicCreate, form, *TOPIC_FIELDS)
    topic = marketplace.propose_topic(
        me.session,
        me.event,
        me.participant,
        data,
        theme_ids=row_ids(form.getlist("themes")),
        propose_key=once_key(form.get("propose_key"), form_values(form, *TOPIC_FIELDS)),
    )
    return see_other(f"{me.home}/topics/{topic.id}?proposed=1")


@router.get("/wall")
def wall_page(me: AttendeeDep) -> Response:
    return me.fresh(lambda: me.wall())


@router.get("/wall/slots")
def wall_slots(me: AttendeeDep) -> Response:
    """The wall's slots alone: what a live page fetches when the wall's layout changed."""
    return me.fresh(lambda: me.wall(block="slots"))


@router.get("/seat-news")
def seat_news(me: AttendeeDep) -> Response:
    """What a live page fetches when this participant's own agenda changed: the seats that
    came free for them, if any."""

    def build() -> Response:
        ctx = {"event": me.event, "news": me.news(), "next": me.home, "jitter": live.jitter()}
        return render(me.request, "participant/_seat_news.html", ctx, block="news")

    return me.fresh(build)


@router.post("/seat-news/seen")
def seat_news_seen(me: AttendeeDep, form: FormDep) -> Response:
    """They saw it: the notice goes, here and on their other pages."""
    signups.saw_news(me.session, me.event, me.participant)
    if wants_fragment(me.request):
        return HTMLResponse("")
    back = str(form.get("next") or "")
    return see_other(back if back.startswith(me.home) else me.home)


@router.get("/topics/{topic_id}")
def topic_page(topic_id: RowId, me: AttendeeDep) -> Response:
    def build() -> Response:
        topic = marketplace.topic_of(me.session, me.event, topic_id)
        if topic.hidden and topic.merged_into_id is not None:  # a duplicate: its people moved
            return see_other(f"{me.home}/topics/{topic.merged_into_id}?done=merged")
        ctx = me.wall_context()
        ctx.update(me.topic_context(topic_id, ctx), **done_notice(me.request, ctx["cards"]))
        return render(me.request, "participant/topic.html", ctx)

    return me.fresh(build)


def tapped_again(anchor: str = "") -> Callable[..., Response]:
    """A refused tap, answered where it was made: the part or page, with the reason by
    `anchor` (which may name the topic: "topic-{topic_id}")."""

    def again(me: Attendee, form: FormData, topic_id: int, error: str) -> Response:
        return me.answer(form, anchor=anchor.format(topic_id=topic_id), error=error)

    return again


@router.post("/topics/{topic_id}/interest", tap=True, again=tapped_again("topic-{topic_id}"))
def mark_interest(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    interested = form.get("interested") == "1"
    marketplace.set_interest(me.session, me.topic(topic_id), me.participant, interested)
    return me.answer(form, anchor=f"topic-{topic_id}")


@router.post("/topics/{topic_id}/co-convene", again=tapped_again())
def co_convene(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    marketplace.co_convene(me.session, me.topic(topic_id), me.participant)
    return me.answer(form)


@router.post("/topics/{topic_id}/place", again=tapped_again("place"))
def place(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """A convener puts their own topic on the wall, in a free place."""
    topic = me.topic(topic_id)
    slot_id, _colon, space_id = str(form.get("cell") or "").partition(":")
    if not (row_id(slot_id) and row_id(space_id)):
        raise Refused(_("Choose a free time and place."))
    who = policy.participant(me.participant)
    wall.place_by_convener(me.session, me.event, topic, int(slot_id), int(space_id), who)
    return me.answer(form, anchor="place")


@router.post("/topics/{topic_id}/pitch", again=tapped_again("pitch"))
def queue_pitch(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """A convener queues to pitch the topic to the room at the marketplace."""
    live_service.queue_pitch(me.session, me.event, me.topic(topic_id), me.participant)
    return me.answer(form, anchor="pitch")


def _edit_topic_page(
    me: Attendee,
    topic: Topic,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    ctx = {
        "event": me.event,
        "participant": me.participant,
        "topic": topic,
        "values": values,
        "errors": errors,
        "themes": event_service.themes(me.session, me.event),
        "languages": LANGUAGES,
        **live.page_parts(me.request, me.session, me.event),
    }
    return render(me.request, "participant/edit_topic.html", ctx, status_code=status_code)


def _my_topic(me: Attendee, topic_id: int) -> Topic:
    """A topic on the lists that this participant may change (403 otherwise)."""
    topic = me.topic(topic_id)
    if not policy.may_edit_topic(me.session, policy.participant(me.participant), topic):
        raise NotAllowed(_("Only the topic's conveners can change it."))
    return topic


@router.get("/topics/{topic_id}/edit")
def edit_topic_form(topic_id: RowId, me: AttendeeDep) -> Response:
    """A convener changes her topic's words: the limits of the proposal form."""
    topic = _my_topic(me, topic_id)
    themes = ",".join(str(t) for t in marketplace.theme_ids_of(me.session, topic))
    return _edit_topic_page(me, topic, {**topic.model_dump(), "themes": themes}, {})


@router.post("/topics/{topic_id}/edit")
def edit_topic(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    topic = _my_topic(me, topic_id)
    values = form_values(form, *TOPIC_FIELDS)
    theme_ids = row_ids(form.getlist("themes"))
    data, errors = validate(TopicCreate, values)
    if data is None:
        values["themes"] = ",".join(str(t) for t in theme_ids)
        return _edit_topic_page(me, topic, values, errors, status_code=422)
    who = policy.participant(me.participant)
    marketplace.edit_topic(me.session, me.event, topic, data, theme_ids, who)
    return see_other(f"{me.home}/topics/{topic_id}?done=edited")


@router.post("/topics/{topic_id}/withdraw")
def withdraw_topic(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """Its convener withdraws her topic: asked first (a confirm, or a page without
    JavaScript), and put back from the notice on the topics page."""
    topic = me.topic(topic_id)
    who = policy.participant(me.participant)
    if not policy.may_withdraw_topic(who, topic):
        raise NotAllowed(_("Only the person who proposed this topic can withdraw it."))
    if form.get("confirm") != "1":
        ctx = {
            "event": me.event,
            "participant": me.participant,
            "topic": topic,
            "question": withdraw_question(topic.title, marketplace.left_behind(me.session, topic)),
            **live.page_parts(me.request, me.session, me.event),
        }
        return render(me.request, "participant/withdraw_topic.html", ctx)
    placed = "1" if topic.placed else "0"
    marketplace.withdraw_topic(me.session, topic, who, True)
    return see_other(f"{me.home}/topics?withdrawn={topic_id}&placed={placed}#withdrawn")


@router.post("/topics/{topic_id}/put-back")
def put_back_topic(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """Undo withdrawing a topic: back on the lists, and on the wall if its place is free."""
    topic = marketplace.topic_of(me.session, me.event, topic_id)
    try:
        marketplace.withdraw_topic(me.session, topic, policy.participant(me.participant), False)
    except Refused as refused:
        raise NotAllowed(refused.message) from None
    lost_place = form.get("placed") == "1" and not topic.placed
    done = "restored_unplaced#place" if lost_place else "restored"
    return see_other(f"{me.home}/topics/{topic_id}?done={done}")


@router.post("/topics/{topic_id}/pitch/leave", again=tapped_again("pitch"))
def leave_pitch_queue(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """A convener gives up her place in the queue to pitch."""
    live_service.leave_pitch_queue(me.session, me.event, me.topic(topic_id), me.participant)
    return me.answer(form, anchor="pitch", done="left_queue")


def just_withdrawn(me: Attendee) -> dict[str, Any]:
    """The topic this convener has just withdrawn (`?withdrawn=…`), for the notice that
    offers to put it back."""
    topic_id = row_id(me.request.query_params.get("withdrawn", ""))
    topic = me.session.get(Topic, topic_id) if topic_id else None
    if topic is None or topic.event_id != me.event.id or not topic.withdrawn:
        return {"just_withdrawn": None}
    if not policy.may_withdraw_topic(policy.participant(me.participant), topic):
        return {"just_withdrawn": None}
    return {
        "just_withdrawn": topic,
        "left_behind": marketplace.left_behind(me.session, topic),
        "was_placed": me.request.query_params.get("placed") == "1",
    }


# Last: its path would otherwise catch the routes above it.
SEAT_DONE = {
    "sign-up": "signed_up",
    "leave": "left",
    "waitlist": "waiting",
    "leave-waitlist": "left_waitlist",
}
SEAT_ACTIONS: dict[str, Callable[[Session, Event, signups.Placed, Participant], object]] = {
    "sign-up": signups.sign_up,
    "leave": signups.leave,
    "waitlist": signups.join_waitlist,
    "leave-waitlist": signups.leave_waitlist,
}


@router.post("/topics/{topic_id}/{action}", tap=True, again=tapped_again("topic-{topic_id}"))
def seat_action(topic_id: RowId, action: str, me: AttendeeDep, form: FormDep) -> Response:
    """Sign up (switching within the slot), leave, join or leave the waitlist."""
    act = SEAT_ACTIONS.get(action)
    if act is None:
        raise NotFound(_("There is no such action."))
    act(me.session, me.event, me.place(topic_id), me.participant)
    # Said at the top of the page a form without JavaScript goes back to (a full session
    # shows no trace of the seat just given up: someone waiting has it).
    return me.answer(form, anchor=f"topic-{topic_id}", done=SEAT_DONE[action])


@router.get("/spaces/{space_id}")
def space_page(space_id: RowId, me: AttendeeDep) -> Response:
    """What happens in one space, now and later: where a room sign's QR code leads."""

    def build() -> Response:
        space = event_service.space_of(me.session, me.event, space_id)
        ctx = me.wall_context()
        now = utcnow()
        ctx["space"] = space
        ctx["sessions"] = [
            (slot, ctx["wall"].card(slot, space), slot.starts_at <= now < slot.ends_at)
            for slot in ctx["wall"].slots
            if slot.ends_at > now or ctx["wall"].card(slot, space)
        ]
        return render(me.request, "participant/space.html", ctx)

    return me.fresh(build)
