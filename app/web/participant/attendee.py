"""Who a participant page is for: a participant at work in their event, and how their pages
and taps are answered (the wall drawn once and shared, a tap's changed part)."""

import functools
import re
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.datastructures import FormData

from app import i18n
from app.i18n import _, lazy, lazy_text, ngettext
from app.models import Event, Participant, Slot, SlotKind, Topic
from app.models.base import row_id, utcnow
from app.services import events as event_service
from app.services import live as live_service
from app.services import marketplace, policy, signups, wall
from app.services.agenda import time_style
from app.services.errors import NotFound
from app.templating import render, wants_fragment
from app.web.agenda import shared_cards, shared_slots
from app.web.kit.common import see_other
from app.web.kit.deps import Joined, SessionDep, VisitorDep, joined
from app.web.kit.errors import status_line
from app.web.kit.pages import Asking, asking, drawn_once, personal_page
from app.web.public import live

# What a tap did, where the changed part alone would not show it (a full session looks the
# same after a leave: someone waiting has the seat).
DONE = {
    "left": lazy("You left this session."),
    "signed_up": lazy("You have a seat in this session."),
    "waiting": lazy("You are on this session's waitlist."),
    "left_waitlist": lazy("You left this session's waitlist."),
    "merged": lazy("The topic you followed was merged into this one."),
    "edited": lazy("Your changes to the topic are saved."),
    "restored": lazy("Your topic is back, where it was."),
    "restored_unplaced": lazy(
        "Your topic is back on the list of topics. Another topic took its place on the wall "
        "meanwhile: choose a new place below."
    ),
    "left_queue": lazy("You left the queue to pitch."),
}


# What a session's card itself shows after the tap (a form without JavaScript opens there).
SHOWN_ON_THE_CARD = frozenset({"signed_up", "waiting", "left_waitlist"})


def done_notice(request: Request, cards: Iterable[marketplace.TopicCard] = ()) -> dict[str, str]:
    """The notice of what a form without JavaScript just did, from the address it was sent
    back to (`?done=…&at=…`), and the anchor of the session it concerns. At the top of the
    page, far from that session, the notice names it (if it is among `cards`)."""
    done = request.query_params.get("done", "")
    at = request.query_params.get("at", "")
    anchor = at if re.fullmatch(r"topic-\d+", at) else ""
    title = next((c.topic.title for c in cards if anchor == f"topic-{c.topic.id}"), None)
    named = {
        "left": lazy_text("You left “%(title)s”."),
        "signed_up": lazy_text("You have a seat in “%(title)s”."),
        "waiting": lazy_text("You are on the waitlist of “%(title)s”."),
        "left_waitlist": lazy_text("You left the waitlist of “%(title)s”."),
    }
    if done in named and title is not None:
        notice = _(named[done], title=title)
    else:
        notice = str(DONE.get(done) or "")
    return {"notice": notice, "notice_anchor": anchor}


class NotJoined(Exception):
    """The visitor has not joined this event yet."""


class Attendee(Asking):
    """A participant at work in their event, and how to answer what they do.

    The event and the participant are looked up when first used, in the thread that answers
    the request: a sign-up is then one trip to a thread (look up, act, commit) and a page one
    more (look up, compare what the page depends on, draw the page or answer 304).
    """

    def __init__(
        self, request: Request, code: str, session: SessionDep, visitor: VisitorDep
    ) -> None:
        super().__init__(request, session)
        self._code = code
        self._visitor = visitor
        self._found: Joined | None = None

    def look_up(self) -> None:
        self._joined()

    def _joined(self) -> Joined:
        if self._found is None:
            self.not_on_the_event_loop()
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

    def freshness(self) -> tuple[object, ...]:
        """The agenda, this participant, which sessions ended and began (now and next), and
        the announcements this person hid."""
        now = utcnow()
        every_slot = shared_slots(self.request, self.session, self.event)
        return (
            self.event.agenda_version,
            self.participant.id,
            self.participant.link_version,
            sum(1 for slot in every_slot if slot.ends_at <= now),
            sum(1 for slot in every_slot if slot.starts_at <= now),
            live.hidden_key(self.request),
        )

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
        shared by the pages that show it alike."""
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

        def context() -> dict[str, Any]:
            return {
                "event": self.event,
                "slots": slots,
                "day": every_slot,
                "sections": self._slot_parts(every_slot, keys),
                "news": self.news(marks),
                "next": f"{self.home}/wall",
                "now": now,
                "time_style": time_style(every_slot, self.event.zone),
                **live.page_parts(self.request, self.session, self.event),
                **done_notice(self.request, shared_cards(self.request, self.session, self.event)),
            }

        page = drawn_once(
            self.request, self.event, page_key, "participant/wall.html", context, block=block
        )
        return personal_page(self.request, page, live.jitter())

    def _slot_parts(
        self, every_slot: list[Slot], keys: dict[int, tuple[Any, ...]]
    ) -> dict[int, Markup]:
        """Each slot's part of the wall, for the seat state in `keys`; drawn where not yet
        drawn for this agenda version."""
        drawn: dict[str, Any] = {}

        def context(slot: Slot) -> dict[str, Any]:
            if not drawn:  # the board, once for every slot drawn here
                cards = shared_cards(self.request, self.session, self.event)
                board = self._board(cards, every_slot)
                drawn.update(event=self.event, wall=board, next=f"{self.home}/wall")
            *_, seat, waiting = keys[slot.id or 0]
            return {
                **drawn,
                "slot": slot,
                "seats": {slot.id: seat} if seat else {},
                "waits": dict(waiting),
            }

        return {
            slot.id or 0: drawn_once(
                self.request,
                self.event,
                keys[slot.id or 0],
                "participant/_slot.html",
                functools.partial(context, slot),
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

    def answer(
        self, form: FormData, *, anchor: str = "", done: str = "", error: str | None = None
    ) -> Response:
        """What a tap did: the changed part (htmx) or the page it came from; with `error`,
        the same, with the reason it was refused by the session it concerns (409).

        `done` (a key of DONE) says what happened where the changed part alone would not:
        beside the part, or at the top of the page the browser is sent back to."""
        back = str(form.get("next") or "")
        if not back.startswith(self.home):
            back = self.home + "/wall"
        status = 200 if error is None else 409
        if not wants_fragment(self.request) and error is None:
            if done:  # said at the top of the page, with a link down to the session
                said = f"{back}{'&' if '?' in back else '?'}done={done}&at={anchor}"
                # A session that shows what was done opens there (a seat, a waitlist place);
                # one that shows no trace of it (a seat given up) opens at the notice.
                shown = done in SHOWN_ON_THE_CARD and anchor
                return see_other(said + (f"#{anchor}" if shown else ""))
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
                # The card itself shows a seat or a waitlist place: said only without it.
                notice=str(DONE[done])
                if done and done not in SHOWN_ON_THE_CARD and error is None
                else "",
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


AttendeeDep = Annotated[Attendee, asking(Attendee)]
