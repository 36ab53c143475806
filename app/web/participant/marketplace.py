"""Participant pages of the marketplace and the wall: propose, show interest, sign up."""

import asyncio
import functools
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app import i18n
from app.i18n import _, lazy, ngettext
from app.models import Event, Participant, Slot, SlotKind, Topic
from app.models.agenda import TopicCreate
from app.models.base import row_id, utcnow
from app.security import new_secret
from app.services import events as event_service
from app.services import live as live_service
from app.services import marketplace, policy, signups, wall
from app.services.agenda import time_style
from app.services.errors import NotFound, Refused
from app.services.signups import SessionFull
from app.templating import render, render_part, wants_fragment
from app.web.kit.cache import (
    CSRF_PLACEHOLDER,
    JITTER_PLACEHOLDER,
    VersionedParts,
    personal,
    shared_cards,
    shared_slots,
)
from app.web.kit.common import agenda_etag, conditional, see_other
from app.web.kit.deps import (
    FormDep,
    Joined,
    RowId,
    SessionDep,
    VisitorDep,
    joined,
    verify_csrf,
)
from app.web.kit.errors import status_line
from app.web.kit.forms import form_values, once_key, row_ids, validate
from app.web.kit.identity import Visitor
from app.web.kit.limits import rate_limited
from app.web.kit.middleware import LookedUpInThread, OneTripRoute, finish_with
from app.web.kit.routing import Router
from app.web.kit.writer import memory_only, quick_write, writing_on_the_loop
from app.web.public import live

router = Router(
    route_class=OneTripRoute,
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


# What a tap did, where the changed part alone would not show it (a full session looks the
# same after a leave: someone waiting has the seat).
DONE = {
    "left": lazy("You left this session."),
    "merged": lazy("The topic you followed was merged into this one."),
    "edited": lazy("Your changes to the topic are saved."),
    "restored": lazy("Your topic is back, where it was."),
    "restored_unplaced": lazy(
        "Your topic is back on the list of topics. Another topic took its place on the wall "
        "meanwhile: choose a new place below."
    ),
    "left_queue": lazy("You left the queue to pitch."),
}


def done_notice(request: Request, cards: Iterable[marketplace.TopicCard] = ()) -> dict[str, str]:
    """The notice of what a form without JavaScript just did, from the address it was sent
    back to (`?done=…&at=…`), and the anchor of the session it concerns. At the top of the
    page, far from that session, the notice names it (if it is among `cards`)."""
    done = request.query_params.get("done", "")
    at = request.query_params.get("at", "")
    anchor = at if re.fullmatch(r"topic-\d+", at) else ""
    title = next((c.topic.title for c in cards if anchor == f"topic-{c.topic.id}"), None)
    if done == "left" and title is not None:
        notice = _("You left “%(title)s”.", title=title)
    else:
        notice = str(DONE.get(done) or "")
    return {"notice": notice, "notice_anchor": anchor}


class NotJoined(Exception):
    """The visitor has not joined this event yet."""


class Attendee(LookedUpInThread):
    """A participant at work in their event, and how to answer what they do.

    The event and the participant are looked up when first used, in the worker thread that
    answers the request: a sign-up is then one trip to a thread (look up, act, commit) and a
    page one more (look up, compare the validator, draw the page or answer 304).
    """

    def __init__(self, request: Request, session: Session, code: str, visitor: Visitor) -> None:
        self.request = request
        self.session = session
        self._code = code
        self._visitor = visitor
        self._found: Joined | None = None

    def look_up(self) -> None:
        self._joined()

    def _joined(self) -> Joined:
        if self._found is None:
            _not_on_the_event_loop()
            found = joined(self.request, self._code, self.session, self._visitor)
            if found.participant is None:
                raise NotJoined()
            self._found = found
        return self._found

    @property
    def event(self) -> Event:
        return self._joined().event

    @property
    def participant(self) -> Participant:
        participant = self._joined().participant
        assert participant is not None
        return participant

    async def fresh(self, build: Callable[[], Response]) -> Response:
        """The page, or 304 while the agenda and this participant are unchanged."""

        def answer() -> Response:
            now = utcnow()
            every_slot = shared_slots(self.request, self.session, self.event)
            etag = agenda_etag(
                self.request,
                self.event.agenda_version,
                self.participant.id,
                self.participant.link_version,
                sum(1 for slot in every_slot if slot.ends_at <= now),  # sessions that ended
                sum(1 for slot in every_slot if slot.starts_at <= now),  # ...and began: now/next
                live.hidden_key(self.request),  # the announcements this person hid
            )
            response = conditional(self.request, etag, build)
            finish_with(response)
            return response

        return await run_in_threadpool(answer)

    @property
    def home(self) -> str:
        return f"/e/{self.event.join_code}"

    def wall_context(
        self, *, topic_id: int | None = None, slot_id: int | None = None
    ) -> dict[str, Any]:
        """What the wall and topic pages show; for a fragment, only its topic or slot."""
        if topic_id is None and slot_id is None:
            cards = shared_cards(self.request, self.session, self.event)
        else:
            cards = marketplace.topic_cards(
                self.session, self.event, topic_id=topic_id, slot_id=slot_id
            )
        board = self._board(cards, shared_slots(self.request, self.session, self.event))
        return {
            "event": self.event,
            "participant": self.participant,
            "cards": cards,
            "wall": board,
            "slots": [slot for slot in board.slots if slot.kind == SlotKind.breakout],
            "day": board.slots,
            "seats": (marks := signups.marks_of(self.session, self.participant)).seats,
            "waits": marks.waits,
            # A fragment (the answer to a tap) shows no seat news: not read for it.
            "news": self.news(marks) if topic_id is None and slot_id is None else [],
            "now": utcnow(),
            "time_style": board.time_style(self.event.zone),
            "interests": marketplace.interests_of(self.session, self.participant),
            **live.page_parts(self.request, self.session, self.event),
        }

    def news(self, marks: signups.Marks | None = None) -> list[tuple[marketplace.TopicCard, str]]:
        """What happened to this participant's seats that they did not do themselves and
        have not yet said they saw: each session, and what happened ("promoted": a seat came
        free from its waitlist; else one of signups.NOTICES)."""
        marks = marks or signups.marks_of(self.session, self.participant)
        if not marks.news and not marks.notices:
            return []
        cards = {
            card.topic.id: card for card in shared_cards(self.request, self.session, self.event)
        }
        told = [(topic_id, kind) for topic_id, kind in marks.notices if topic_id in cards]
        noticed = {topic_id for topic_id, _kind in told}
        promoted = [
            (topic_id, "promoted")
            for topic_id in marks.news
            if topic_id not in noticed and topic_id in cards and cards[topic_id].space
        ]
        return [(cards[topic_id], kind) for topic_id, kind in [*promoted, *told]]

    def _board(self, cards: list[marketplace.TopicCard], slots: list[Slot]) -> wall.Wall:
        spaces = event_service.spaces(self.session, self.event)
        return wall.build_wall(self.session, self.event, cards, slots, spaces, warn=False)

    def wall(self, *, block: str | None = None) -> Response:
        """The wall page (or, for htmx, one block of it), drawn once per agenda version,
        language and seat state, and shared: a phone with a seat in a session, or on its
        waitlist, sees that slot differently. Each slot is drawn once per seat state too, and
        shared by the pages that show it alike. A shared page has placeholders for the
        browser's CSRF token and its delay before live refetches."""
        parts: VersionedParts[str] = self.request.app.state.wall_parts
        event_id, version = (self.event.id, self.event.join_code), self.event.agenda_version
        every_slot = shared_slots(self.request, self.session, self.event)
        slots = [slot for slot in every_slot if slot.kind == SlotKind.breakout]
        marks = signups.marks_of(self.session, self.participant)
        language = i18n.current()
        now = utcnow()  # a slot that has ended offers nothing to sign up to any more
        keys = {
            slot.id or 0: (slot.id, language, slot.ends_at <= now, *marks.in_slot(slot.id or 0))
            for slot in slots
        }
        block = block if wants_fragment(self.request) else None
        url = self.request.url  # the language form sends the browser back to it
        # What this person already saw: seat news, and the announcements they hid.
        seen = (marks.news, marks.notices, live.hidden_key(self.request))
        page_key = ("page", block, url.path, url.query, *seen, *keys.values())

        def draw() -> str:
            html = self._slot_parts(every_slot, keys)
            ctx = {
                "event": self.event,
                "slots": slots,
                "day": every_slot,
                "sections": {slot_id: Markup(part) for slot_id, part in html.items()},
                "news": self.news(marks),
                "next": f"{self.home}/wall",
                "now": now,
                "time_style": time_style(every_slot, self.event.zone),
                **live.page_parts(self.request, self.session, self.event),
                **done_notice(self.request, shared_cards(self.request, self.session, self.event)),
                "jitter": JITTER_PLACEHOLDER,
            }
            return render_part(
                self.request,
                "participant/wall.html",
                ctx,
                csrf_token=CSRF_PLACEHOLDER,
                block=block,
            )

        page = parts.get_or_make(event_id, version, page_key, draw)
        token = str(getattr(self.request.state, "csrf_token", ""))
        return HTMLResponse(personal(page, token, live.jitter()))

    def _slot_parts(
        self, every_slot: list[Slot], keys: dict[int, tuple[Any, ...]]
    ) -> dict[int, str]:
        """Each slot's part of the wall, for the seat state in `keys`; drawn where not yet
        drawn for this agenda version."""
        parts: VersionedParts[str] = self.request.app.state.wall_parts
        event_id, version = (self.event.id, self.event.join_code), self.event.agenda_version
        drawn: dict[str, Any] = {}

        def draw(slot: Slot) -> str:
            if not drawn:  # the board, once for every slot drawn here
                cards = shared_cards(self.request, self.session, self.event)
                board = self._board(cards, every_slot)
                drawn.update(event=self.event, wall=board, next=f"{self.home}/wall")
            *_, seat, waiting = keys[slot.id or 0]
            ctx = {**drawn, "slot": slot, "seats": {slot.id: seat} if seat else {}}
            ctx["waits"] = dict(waiting)
            return render_part(
                self.request, "participant/_slot.html", ctx, csrf_token=CSRF_PLACEHOLDER
            )

        return {
            slot.id or 0: parts.get_or_make(
                event_id, version, keys[slot.id or 0], functools.partial(draw, slot)
            )
            for slot in every_slot
            if (slot.id or 0) in keys
        }

    def topic(self, topic_id: int) -> Topic:
        topic = marketplace.topic_of(self.session, self.event, topic_id)
        if topic.hidden:
            raise NotFound(str(GONE))
        return topic

    def place(self, topic_id: int) -> signups.TopicPlace:
        """Where a topic is, for a tap on it (cheaper than the whole topic)."""
        place = signups.topic_place(self.session, self.event, topic_id)
        if place.hidden:
            raise NotFound(str(GONE))
        return place

    def act(
        self, form: FormData, action: Callable[[], object], *, anchor: str = "", done: str = ""
    ) -> Response:
        """Carry out an action; answer with the changed part (htmx) or the page it came from.

        `done` (a key of DONE) says what happened where the changed part alone would not:
        beside the part, or at the top of the page the browser is sent back to."""
        back = str(form.get("next") or "")
        if not back.startswith(self.home):
            back = self.home + "/wall"
        error = None
        status = 200
        try:
            action()
        except SessionFull as full:
            error, status = full.message, 409
        except Refused as refused:
            error, status = refused.message, 409
        if not wants_fragment(self.request) and error is None:
            if done:  # said at the top of the page, with a link down to the session
                return see_other(f"{back}{'&' if '?' in back else '?'}done={done}&at={anchor}")
            return see_other(back + (f"#{anchor}" if anchor else ""))
        fragment = str(form.get("fragment") or "")
        fragment_id = str(form.get("fragment_id") or "")
        if wants_fragment(self.request) and fragment in FRAGMENTS and row_id(fragment_id):
            only = {"slot_id" if fragment == "slot" else "topic_id": int(fragment_id)}
            ctx = self.wall_context(**only)
            if fragment != "slot" and not ctx["cards"]:
                # The topic has left the wall (hidden or merged): there is no card to draw
                # again, so the reason goes in the status line.
                return status_line(error or str(GONE), 409)
            ctx.update(
                error=error,
                notice=str(DONE[done]) if done and error is None else "",
                error_anchor=anchor,
                next=back,
                fragment_id=fragment_id,
            )
            return render(self.request, FRAGMENTS[fragment], ctx, status_code=status)
        ctx = self.wall_context()
        ctx.update(error=error, error_anchor=anchor, next=back)
        topic_id = back.rsplit("/topics/", 1)[-1].split("?")[0]
        if "/topics/" in back and row_id(topic_id):
            ctx.update(self.topic_context(int(topic_id), ctx))
            return render(self.request, "participant/topic.html", ctx, status_code=status)
        return render(self.request, "participant/wall.html", ctx, status_code=status)

    def topic_context(self, topic_id: int, ctx: dict[str, Any]) -> dict[str, Any]:
        """What the topic page adds to the wall's context."""
        topic = self.topic(topic_id)
        who = policy.participant(self.participant)
        return {
            "card": _card(ctx, topic_id),
            "conveners": marketplace.conveners(self.session, topic),
            # A convener moves her session herself only while nobody else has signed up.
            "may_move": not topic.placed or policy.may_move(self.session, who, topic),
            "may_edit": policy.may_edit_topic(self.session, who, topic),
            "may_withdraw": policy.may_withdraw_topic(who, topic),
            "withdraw_question": withdraw_question(
                topic.title, marketplace.left_behind(self.session, topic)
            ),
            "pitch_place": live_service.pitch_place(self.session, self.event, topic),
            "next": f"{self.home}/topics/{topic_id}",
        }


def withdraw_question(title: str, left: marketplace.Withdrawn) -> str:
    """What withdrawing a topic does, asked before it is done (a confirm, or a page)."""
    said = [_("Withdraw “%(title)s”? It goes from the topics and the wall.", title=title)]
    if left.seated:
        said.append(
            ngettext(
                "%(num)d other person has a seat in it: it goes from their agenda.",
                "%(num)d other people have a seat in it: it goes from their agendas.",
                left.seated,
            )
        )
    if left.waiting:
        said.append(
            ngettext(
                "%(num)d person waits for a seat in it: they wait no more.",
                "%(num)d people wait for a seat in it: they wait no more.",
                left.waiting,
            )
        )
    if left.seated or left.waiting:
        said.append(
            _(
                "If you put it back before another topic takes its place on the wall, "
                "they have their places again."
            )
        )
    else:
        said.append(_("You can put it back."))
    return " ".join(said)


# Why a topic is no longer there for participants (hidden by the facilitator).
GONE = lazy("This topic has been taken off the wall.")

FRAGMENTS = {
    "slot": "participant/_slot.html",
    "card": "participant/_topic_card.html",
    "status": "participant/_topic_status.html",
}


def _card(ctx: dict[str, Any], topic_id: int) -> marketplace.TopicCard:
    cards: list[marketplace.TopicCard] = ctx["cards"]
    for card in cards:
        if card.topic.id == topic_id:
            return card
    raise NotFound(str(GONE))


@memory_only
async def attendee(
    request: Request, code: str, session: SessionDep, visitor: VisitorDep
) -> Attendee:
    return Attendee(request, session, code, visitor)


def _not_on_the_event_loop() -> None:
    """Looking the visitor up asks the database: never on the event loop, which would stop
    every other request while it waits (but for a quick write, which holds the database)."""
    if writing_on_the_loop():
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError("the event and participant are looked up in a worker thread")


AttendeeDep = Annotated[Attendee, Depends(attendee)]


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
async def topics_page(me: AttendeeDep) -> Response:
    return await me.fresh(lambda: _topics_page(me))


@router.post("/topics")
def propose(me: AttendeeDep, form: FormDep) -> Response:
    values = form_values(form, *TOPIC_FIELDS)
    theme_ids = row_ids(form.getlist("themes"))
    propose_key = once_key(form.get("propose_key"), values)
    data, errors = validate(TopicCreate, values)
    if data is not None:
        try:
            topic = marketplace.propose_topic(
                me.session,
                me.event,
                me.participant,
                data,
                theme_ids=theme_ids,
                propose_key=propose_key,
            )
        except Refused as refused:
            errors = {"title": refused.message}
        else:
            return see_other(f"{me.home}/topics/{topic.id}?proposed=1")
    values["themes"] = ",".join(str(t) for t in theme_ids)
    return _topics_page(me, values=values, errors=errors, status_code=422, propose_key=propose_key)


@router.get("/wall")
async def wall_page(me: AttendeeDep) -> Response:
    return await me.fresh(lambda: me.wall())


@router.get("/wall/slots")
async def wall_slots(me: AttendeeDep) -> Response:
    """The wall's slots alone: what a live page fetches when the wall's layout changed."""
    return await me.fresh(lambda: me.wall(block="slots"))


@router.get("/seat-news")
async def seat_news(me: AttendeeDep) -> Response:
    """What a live page fetches when this participant's own agenda changed: the seats that
    came free for them, if any."""

    def build() -> Response:
        ctx = {"event": me.event, "news": me.news(), "next": me.home, "jitter": live.jitter()}
        return render(me.request, "participant/_seat_news.html", ctx, block="news")

    return await me.fresh(build)


@router.post("/seat-news/seen")
def seat_news_seen(me: AttendeeDep, form: FormDep) -> Response:
    """They saw it: the notice goes, here and on their other pages."""
    signups.saw_news(me.session, me.event, me.participant)
    if wants_fragment(me.request):
        return HTMLResponse("")
    back = str(form.get("next") or "")
    return see_other(back if back.startswith(me.home) else me.home)


@router.get("/topics/{topic_id}")
async def topic_page(topic_id: RowId, me: AttendeeDep) -> Response:
    def build() -> Response:
        topic = marketplace.topic_of(me.session, me.event, topic_id)
        if topic.hidden and topic.merged_into_id is not None:  # a duplicate: its people moved
            return see_other(f"{me.home}/topics/{topic.merged_into_id}?done=merged")
        ctx = me.wall_context()
        ctx.update(me.topic_context(topic_id, ctx), **done_notice(me.request, ctx["cards"]))
        return render(me.request, "participant/topic.html", ctx)

    return await me.fresh(build)


@router.post("/topics/{topic_id}/interest")
@quick_write
def mark_interest(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    interested = form.get("interested") == "1"
    return me.act(
        form,
        lambda: marketplace.set_interest(
            me.session, me.topic(topic_id), me.participant, interested
        ),
        anchor=f"topic-{topic_id}",
    )


@router.post("/topics/{topic_id}/co-convene")
def co_convene(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    return me.act(
        form, lambda: marketplace.co_convene(me.session, me.topic(topic_id), me.participant)
    )


@router.post("/topics/{topic_id}/place")
def place(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """A convener puts their own topic on the wall, in a free place."""

    def put() -> None:
        topic = me.topic(topic_id)
        slot_id, _colon, space_id = str(form.get("cell") or "").partition(":")
        if not (row_id(slot_id) and row_id(space_id)):
            raise Refused(_("Choose a free time and place."))
        who = policy.participant(me.participant)
        wall.place_by_convener(me.session, me.event, topic, int(slot_id), int(space_id), who)

    return me.act(form, put, anchor="place")


@router.post("/topics/{topic_id}/pitch")
def queue_pitch(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """A convener queues to pitch the topic to the room at the marketplace."""
    return me.act(
        form,
        lambda: live_service.queue_pitch(me.session, me.event, me.topic(topic_id), me.participant),
        anchor="pitch",
    )


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
        raise HTTPException(403, _("Only the topic's conveners can change it."))
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
        raise HTTPException(403, _("Only the person who proposed this topic can withdraw it."))
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
        raise HTTPException(403, refused.message) from None
    lost_place = form.get("placed") == "1" and not topic.placed
    done = "restored_unplaced#place" if lost_place else "restored"
    return see_other(f"{me.home}/topics/{topic_id}?done={done}")


@router.post("/topics/{topic_id}/pitch/leave")
def leave_pitch_queue(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """A convener gives up her place in the queue to pitch."""
    return me.act(
        form,
        lambda: live_service.leave_pitch_queue(
            me.session, me.event, me.topic(topic_id), me.participant
        ),
        anchor="pitch",
        done="left_queue",
    )


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
SEAT_ACTIONS: dict[str, Callable[[Session, Event, signups.Placed, Participant], object]] = {
    "sign-up": signups.sign_up,
    "leave": signups.leave,
    "waitlist": signups.join_waitlist,
    "leave-waitlist": signups.leave_waitlist,
}


@router.post("/topics/{topic_id}/{action}")
@quick_write
def seat_action(topic_id: RowId, action: str, me: AttendeeDep, form: FormDep) -> Response:
    """Sign up (switching within the slot), leave, join or leave the waitlist."""
    act = SEAT_ACTIONS.get(action)
    if act is None:
        raise HTTPException(404, _("There is no such action."))
    return me.act(
        form,
        lambda: act(me.session, me.event, me.place(topic_id), me.participant),
        anchor=f"topic-{topic_id}",
        # A full session shows no trace of the seat just given up (someone waiting has it).
        done="left" if action == "leave" else "",
    )


@router.get("/spaces/{space_id}")
async def space_page(space_id: RowId, me: AttendeeDep) -> Response:
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

    return await me.fresh(build)
