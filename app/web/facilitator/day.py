"""Facilitator pages: claiming a facilitator link, and the facilitator's view of the day."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app import i18n
from app.config import Settings
from app.db import Database
from app.i18n import _, ngettext
from app.models import (
    Event,
    FacilitatorLink,
    Participant,
    ProjectorView,
    Role,
    Slot,
    SlotKind,
    Space,
    Topic,
)
from app.models.agenda import TopicCreate
from app.models.base import row_id
from app.models.event import SlotShift
from app.models.live import VIEW_LABELS, AnnouncementCreate
from app.models.people import ParticipantJoin
from app.security import LinkSigner
from app.services import events as event_service
from app.services import live as live_service
from app.services import marketplace, policy, signups, wall
from app.services import participants as participant_service
from app.services.errors import Invalid, NotFound, Refused
from app.templating import render, wants_fragment
from app.web.kit.audit import audited
from app.web.kit.common import absolute, see_other
from app.web.kit.deps import (
    FacilitatedEvent,
    FormDep,
    MaybeOrganiser,
    RowId,
    SessionDep,
    SettingsDep,
    SignerDep,
    VisitorDep,
    remember_and_go,
    verify_csrf,
)
from app.web.kit.forms import (
    form_values,
    named_by_the_form,
    row_ids,
    valid,
    validate,
    whole_number,
)
from app.web.kit.routing import Router

FLASH_COOKIE = "openspace_notice"
router = Router(dependencies=[Depends(verify_csrf), Depends(audited)])


def _facilitator_link(
    request: Request, session: Session, signer: LinkSigner, token: str
) -> FacilitatorLink | Response:
    """The live facilitator link a token names, or the page that says it does not work."""
    values = signer.read("facilitator", token)
    link = event_service.live_facilitator_link(session, values[0]) if values else None
    if link is None:
        return render(
            request,
            "errors.html",
            {
                "status": 403,
                "title": _("This facilitator link does not work"),
                "message": _(
                    "It may have been revoked. Ask an organiser of the event for a new one."
                ),
            },
            status_code=403,
        )
    return link


@router.get("/f/{token}")
def facilitator_link_page(
    request: Request, token: str, session: SessionDep, signer: SignerDep
) -> Response:
    """A facilitator link asks before it acts: opening a link (from another site, a mail
    scanner) signs nobody in; the button does."""
    link = _facilitator_link(request, session, signer, token)
    if isinstance(link, Response):
        return link
    event = session.get(Event, link.event_id)
    return render(
        request,
        "public/link_sign_in.html",
        {
            "title": _("Facilitate %(event)s", event=event.name if event else ""),
            "message": _(
                "This link lets this browser run the day: the wall, the desk, the outcomes "
                "and what the projector shows, until an organiser revokes the link."
            ),
            "action": f"/f/{token}",
            "button": _("Facilitate on this browser"),
        },
    )


@router.post("/f/{token}")
def claim_facilitator_link(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    visitor: VisitorDep,
) -> Response:
    """Claiming a facilitator link lets this browser facilitate the event until it is revoked."""
    link = _facilitator_link(request, session, signer, token)
    if isinstance(link, Response):
        return link
    assert link.id is not None
    visitor.facilitator_links[str(link.event_id)] = link.id
    return remember_and_go(f"/facilitate/{link.event_id}", visitor, settings)


@dataclass
class Facilitation:
    """A facilitator at work on one event, and how to answer their forms."""

    request: Request
    session: Session
    event: Event
    # An organiser of the event (not a facilitator link): the pages lead back to its set-up.
    organises: bool = False

    @property
    def base(self) -> str:
        return f"/facilitate/{self.event.id}"

    def board(self) -> wall.Wall:
        cards = marketplace.topic_cards(self.session, self.event)
        return wall.build_wall(
            self.session,
            self.event,
            cards,
            event_service.slots(self.session, self.event),
            event_service.spaces(self.session, self.event),
        )

    def page(
        self, template: str, status_code: int = 200, block: str | None = None, **extra: Any
    ) -> Response:
        flashed = self.request.cookies.get(FLASH_COOKIE)
        ctx: dict[str, Any] = {
            "event": self.event,
            "base": self.base,
            "organises": self.organises,
            "error": None,
            "notice": unquote(flashed) if flashed else None,
        }
        ctx.update(extra)
        response = render(self.request, template, ctx, block=block, status_code=status_code)
        if flashed:
            response.delete_cookie(FLASH_COOKIE, path=self.base)
        return response

    def done(self, notice: str | None, then: str) -> Response:
        """Post/redirect/get: go on to `then`, which shows the notice once."""
        response = see_other(then)
        if notice:
            response.set_cookie(
                FLASH_COOKIE,
                quote(notice),
                max_age=60,
                path=self.base,
                httponly=True,
                samesite="lax",
            )
        return response

    def wall_page(self, status_code: int = 200, **extra: Any) -> Response:
        board = self.board()
        extra.setdefault("undo", _undo_offer(self))
        return self.page("facilitator/wall.html", status_code, wall=board, **extra)

    def topic(self, topic_id: int) -> Topic:
        return marketplace.topic_of(self.session, self.event, topic_id)


def facilitation(
    request: Request, event: FacilitatedEvent, session: SessionDep, organiser: MaybeOrganiser
) -> Facilitation:
    role = event_service.role_of(session, event, organiser) if organiser is not None else None
    return Facilitation(request, session, event, organises=role == Role.organiser)


FacilitationDep = Annotated[Facilitation, Depends(facilitation)]


def _shift_undo(run: Facilitation) -> dict[str, int] | None:
    """What the notice of a shift just made offers to undo (`?shifted=…&from=…`): shown with
    that notice only, so the page loaded again later offers nothing."""
    query = run.request.query_params
    minutes = whole_number(query.get("shifted", "").lstrip("-"), 180)
    first = row_id(query.get("from", ""))
    if not minutes or not first or FLASH_COOKIE not in run.request.cookies:
        return None
    sign = -1 if query.get("shifted", "").startswith("-") else 1
    return {"minutes": -sign * minutes, "from_slot_id": first}


def _home(
    run: Facilitation, settings: Settings, signer: LinkSigner, status_code: int = 200, **extra: Any
) -> Response:
    """Run the day: the marketplace, the projector, announcements and the pitch queue."""
    event = run.event
    assert event.id is not None
    return run.page(
        "facilitator/home.html",
        status_code,
        **{
            "spaces": event_service.spaces(run.session, event),
            "slots": event_service.slots(run.session, event),
            "upcoming_slots": event_service.upcoming_slots(run.session, event),
            "shift_values": {},
            "shift_errors": {},
            "participant_count": event_service.participant_count(run.session, event),
            "projector_link": absolute(
                settings,
                "/display/" + signer.sign("projector", event.id, event.projector_version),
            ),
            "join_link": absolute(settings, f"/j/{event.join_code}"),
            "views": list(ProjectorView),
            "view_labels": VIEW_LABELS,
            "standing": live_service.announcements(run.session, event, limit=20),
            "pitches": live_service.pitch_queue(run.session, event),
            "pitch_lengths": (30, 45, 60, 90, 120, 180, 300),
            "values": {},
            "errors": {},
            "shift_undo": _shift_undo(run),
            **extra,
        },
    )


@router.get("/facilitate/{event_id}")
def run_the_day(run: FacilitationDep, settings: SettingsDep, signer: SignerDep) -> Response:
    return _home(run, settings, signer)


@router.post("/facilitate/{event_id}/projector", again=_home)
def switch_projector(
    run: FacilitationDep, form: FormDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    view = str(form.get("view") or "")
    live_service.show_on_projector(run.session, run.event, view)
    shown = _("The projector now shows: %(view)s.", view=VIEW_LABELS[ProjectorView(view)])
    return run.done(shown, run.base + "#projector-h")


@router.post("/facilitate/{event_id}/announcements", again=_home)
def announce(
    run: FacilitationDep, form: FormDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    live_service.announce(run.session, run.event, valid(AnnouncementCreate, form, "text"))
    return run.done(_("Announced on every phone and on the projector."), run.base + "#announce-h")


@router.post("/facilitate/{event_id}/announcements/{announcement_id}/withdraw", again=_home)
def withdraw_announcement(
    announcement_id: RowId, run: FacilitationDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    live_service.withdraw(run.session, run.event, announcement_id)
    return run.done(_("The announcement is off every screen."), run.base + "#announce-h")


PITCH_ACTIONS: dict[str, Callable[[Session, Event], None]] = {
    "next": live_service.next_pitch,
    "pause": live_service.pause_pitch,
}


@router.post("/facilitate/{event_id}/pitches/length", again=_home)
def pitch_length(
    run: FacilitationDep, form: FormDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    seconds = whole_number(form.get("seconds")) or 0
    live_service.set_pitch_length(run.session, run.event, seconds)
    return run.done(_("Pitch length changed."), run.base + "#pitch-h")


@router.post("/facilitate/{event_id}/pitches/{pitch_id}/drop", again=_home)
def drop_pitch(
    pitch_id: RowId, run: FacilitationDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    live_service.drop_pitch(run.session, run.event, pitch_id)
    return run.done(_("Taken out of the queue."), run.base + "#pitch-h")


@router.post("/facilitate/{event_id}/pitches/{action}", again=_home)
def pitch_action(
    action: str, run: FacilitationDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    """Move the pitch queue on, or pause and resume the clock."""
    act = PITCH_ACTIONS.get(action)
    if act is None:
        raise NotFound(_("There is no such action."))
    act(run.session, run.event)
    return run.done(None, run.base + "#pitch-h")


def _shift_again(
    run: Facilitation,
    settings: Settings,
    signer: LinkSigner,
    values: dict[str, str],
    errors: dict[str, str],
    error: str,
) -> Response:
    """A refused shift: its form again, with the minutes kept and the reason beside it."""
    fields = {"minutes", "from_slot_id"}
    shown = errors if errors and set(errors) <= fields else {"__all__": error}
    return _home(run, settings, signer, 422, shift_values=values, shift_errors=shown)


@router.post("/facilitate/{event_id}/slots/shift", again=_shift_again)
def shift_slots(
    run: FacilitationDep, form: FormDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    """Move the rest of the day by some minutes: every slot still to come, in one step. The
    first post shows what moves (old and new times, who is told); the second (`confirm`) does
    it, and its notice offers to move them back."""
    data = valid(SlotShift, form, "minutes", "from_slot_id")
    with named_by_the_form():
        if form.get("confirm") != "1":
            preview = event_service.shift_outcome(run.session, run.event, data)
            return run.page("facilitator/shift.html", preview=preview, data=data)
        shifted = event_service.shift_slots(run.session, run.event, data)
    first = shifted.slots[0].id if shifted.slots else ""
    back = f"{run.base}?shifted={data.minutes}&from={first}#day-h"
    return run.done(shifted.summary(), back)


@router.post("/facilitate/{event_id}/marketplace")
def open_marketplace(run: FacilitationDep, form: FormDep) -> Response:
    is_open = form.get("open") == "1"
    marketplace.open_marketplace(run.session, run.event, is_open)
    return see_other(run.base)


@router.post("/facilitate/{event_id}/close")
def close_event(run: FacilitationDep, form: FormDep) -> Response:
    marketplace.close_event(run.session, run.event, form.get("closed") == "1")
    return see_other(run.base)


@router.get("/facilitate/{event_id}/wall")
def wall_page(run: FacilitationDep) -> Response:
    return run.wall_page()


@router.get("/facilitate/{event_id}/topics/{topic_id}/move")
def move_form(topic_id: RowId, run: FacilitationDep) -> Response:
    """Where a topic can go: one page per topic, so that the wall does not carry every
    place once per card."""
    topic = run.topic(topic_id)
    board = run.board()
    card = next(
        (c for c in [*board.cells.values(), *board.unplaced] if c.topic.id == topic.id), None
    )
    if card is None:  # hidden: it has no card on the wall
        raise NotFound(_("This topic is not on the wall."))
    return run.page("facilitator/move_to.html", wall=board, card=card)


def _cell(value: str) -> tuple[int | None, int | None]:
    slot_id, _colon, space_id = value.partition(":")
    slot, space = row_id(slot_id), row_id(space_id)
    return (slot, space) if slot and space else (None, None)


def _wall_again(run: Facilitation, error: str) -> Response:
    """A refused change of the wall: the wall again, with the reason at the top."""
    return run.wall_page(409, error=error)


@router.post("/facilitate/{event_id}/topics/{topic_id}/move", again=_wall_again)
def move_topic(topic_id: RowId, run: FacilitationDep, form: FormDep) -> Response:
    """Place, move, swap or unplace: the no-drag way, and what drag-and-drop submits. A move
    that changes the seats of anyone but the conveners shows first who keeps a seat and who
    waits (with or without JavaScript); the second post (`confirm`) does it."""
    slot_id, space_id = _cell(str(form.get("cell") or ""))
    # Undoing a move is a move back, by this same path: it asks first where seats change.
    undo = form.get("undo") == "1"
    swapped_back = row_id(str(form.get("swapped") or ""))
    topic = run.topic(topic_id)
    was_at = f"{topic.slot_id}:{topic.space_id}" if topic.placed else ""
    there = wall.occupant(run.session, slot_id, space_id)
    then = f"{run.base}/wall#topic-{topic_id}"
    if not undo:  # the notice offers to put it back where it was (and what it swapped with)
        swapped_id = there.id if there is not None and there.id != topic_id else ""
        then = f"{run.base}/wall?moved={topic_id}&from={was_at}&swapped={swapped_id}" + (
            f"#topic-{topic_id}"
        )
    if form.get("confirm") != "1":
        with named_by_the_form():  # the time and place chosen may have gone meanwhile
            if undo:
                wall.check_undo(run.session, run.event, topic, slot_id, space_id, swapped_back)
            swapped, plans = wall.plan_move(run.session, run.event, topic, slot_id, space_id)
        if any(plan.asks_first for plan in plans):
            return _move_preview(
                run, topic, swapped, plans, str(form.get("cell") or ""), undo, swapped_back
            )

    def move() -> str | None:
        with named_by_the_form():
            if undo:
                wall.check_undo(run.session, run.event, topic, slot_id, space_id, swapped_back)
            swapped, plans = wall.move_by_facilitator(
                run.session, run.event, topic, slot_id, space_id
            )
        parts = [_("Move undone.")] if undo else []
        if slot_id is None or space_id is None:
            waiting = signups.waiting_for(run.session, topic_id)
            parts.append(
                ngettext(
                    "“%(title)s” is off the wall. %(num)d person waits for it: they get a seat "
                    "when you place it again.",
                    "“%(title)s” is off the wall. %(num)d people wait for it: they get a seat "
                    "when you place it again.",
                    waiting,
                    title=topic.title,
                )
                if waiting
                else _("“%(title)s” is off the wall.", title=topic.title)
            )
        elif swapped is None and (slot := run.session.get(Slot, slot_id)) is not None:
            space = run.session.get(Space, space_id)
            parts.append(
                _(
                    "“%(title)s” is now at %(time)s, %(space)s.",
                    title=topic.title,
                    time=i18n.when(slot.starts_at, run.event.zone),
                    space=space.name if space else "",
                )
            )
        if swapped is not None:
            parts.append(
                _(
                    "“%(title)s” and “%(other)s” swapped places.",
                    title=topic.title,
                    other=swapped.title,
                )
            )
        bumped = sum(len(plan.booked) for plan in plans)
        if bumped:
            parts.append(
                ngettext(
                    "%(num)d person was already booked at the new time: they keep that "
                    "session and lost their seat in this one.",
                    "%(num)d people were already booked at the new time: they keep that "
                    "session and lost their seat in this one.",
                    bumped,
                )
            )
        waiting = sum(len(plan.wait) for plan in plans if plan.slot_id is not None)
        if waiting:
            parts.append(
                ngettext(
                    "%(num)d person found no seat left in the new room and is first on its "
                    "waitlist.",
                    "%(num)d people found no seat left in the new room and are first on its "
                    "waitlist.",
                    waiting,
                )
            )
        parts.extend(_told(run, plans))
        return " ".join(parts) or None

    return run.done(move(), then)


def _undo_offer(run: Facilitation) -> dict[str, Any] | None:
    """What the notice of a move just made offers to undo (`?moved=…&from=…`): shown with
    that notice only, so a page loaded again later offers nothing."""
    query = run.request.query_params
    topic_id = row_id(query.get("moved", ""))
    if not topic_id or FLASH_COOKIE not in run.request.cookies:
        return None
    was_at = query.get("from", "")
    if was_at and _cell(was_at) == (None, None):
        return None
    topic = run.session.get(Topic, topic_id)
    if topic is None or topic.event_id != run.event.id:
        return None
    return {"topic": topic, "cell": was_at, "swapped": row_id(query.get("swapped", "")) or ""}


def _told(run: Facilitation, plans: list[signups.SeatPlan]) -> list[str]:
    """What the facilitator is told of who hears of a move: everyone on their phone, and the
    people without one at the desk."""
    people = {p for plan in plans for p in plan.people}
    if not people or all(not plan.asks_first for plan in plans):
        return []
    said = [_("Everyone whose seat changed is told on their phone.")]
    on_paper = len(signups.printed(run.session, people))
    if on_paper:
        said.append(
            ngettext(
                "%(num)d of them has a printed agenda: the desk lists it to print again.",
                "%(num)d of them have a printed agenda: the desk lists them to print again.",
                on_paper,
            )
        )
    return said


def _move_preview(
    run: Facilitation,
    topic: Topic,
    swapped: Topic | None,
    plans: list[signups.SeatPlan],
    cell: str,
    undo: bool = False,
    swapped_back: int | None = None,
) -> Response:
    """What a move will do to people's seats, and a button to do it."""
    names = {
        pid: name
        for pid, (name, _email) in participant_service.contacts(run.session, run.event).items()
    }
    slots = {slot.id: slot for slot in event_service.slots(run.session, run.event)}
    spaces = {space.id: space for space in event_service.spaces(run.session, run.event)}
    on_paper = signups.printed(run.session, {p for plan in plans for p in plan.people})
    slot_id, space_id = _cell(cell)
    from_waitlists = wall.seated_from_waitlists(run.session, run.event, topic, slot_id, space_id)
    return run.page(
        "facilitator/move.html",
        from_waitlists=from_waitlists,
        topic=topic,
        swapped=swapped,
        plans=plans,
        cell=cell,
        undo=undo,
        swapped_back=swapped_back or "",
        names=names,
        slots=slots,
        spaces=spaces,
        on_paper=[names.get(p, "") for p in on_paper],
    )


@router.get("/facilitate/{event_id}/wall/suggestion")
def suggestion(run: FacilitationDep) -> Response:
    board = run.board()
    plan = wall.suggest_allocation(run.session, board)
    suggested = {card.topic.id for card, _slot, _space in plan}
    left = [card for card in board.unplaced if card.topic.id not in suggested]
    return run.page("facilitator/suggestion.html", wall=board, plan=plan, left=left)


@router.post("/facilitate/{event_id}/wall/suggestion")
def apply_suggestion(run: FacilitationDep, form: FormDep) -> Response:
    """Place the reviewed suggestions that were kept ticked; a cell taken meanwhile is skipped."""
    placed = 0
    for value in form.getlist("place"):
        topic_id, _at, cell = str(value).partition("@")
        slot_id, space_id = _cell(cell)
        if not row_id(topic_id) or slot_id is None:
            continue
        topic = run.topic(int(topic_id))
        if topic.placed:
            continue
        try:
            with run.session.begin_nested():
                wall.place_by_convener(
                    run.session, run.event, topic, slot_id, space_id or 0, policy.FACILITATOR
                )
            placed += 1
        except (Refused, NotFound):  # the cell was taken meanwhile, or is gone
            continue
    return run.done(
        ngettext("%(num)d topic placed.", "%(num)d topics placed.", placed), f"{run.base}/wall"
    )


@router.get("/facilitate/{event_id}/topics")
def topics_page(run: FacilitationDep) -> Response:
    return _topics(run)


def _topics(
    run: Facilitation,
    status_code: int = 200,
    merge_values: dict[str, str] | None = None,
    merge_errors: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """The topics, and the merge form: its lists in natural order, narrowed by `q` (a plain
    GET search; htmx asks for the lists alone as one types), nothing chosen at first."""
    cards = marketplace.topic_cards(run.session, run.event, include_hidden=True)
    query = run.request.query_params
    values = merge_values or {
        "keep": query.get("keep", ""),
        "duplicate": query.get("duplicate", ""),
    }
    typed = query.get("q", "")[:80]
    wanted = participant_service.folded(typed.strip())
    visible = sorted(
        (card for card in cards if not card.topic.hidden),
        key=lambda card: participant_service.natural_key(card.topic.title),
    )
    # A chosen topic stays in its list whatever is typed, so a filter never drops a choice.
    chosen = set(values.values())
    options = [
        card
        for card in visible
        if wanted in participant_service.folded(card.topic.title) or str(card.topic.id) in chosen
    ]
    ctx = {
        "cards": cards,
        "options": options,
        "q": typed,
        "matched": sum(wanted in participant_service.folded(c.topic.title) for c in visible),
        "merge_values": values,
        "merge_errors": merge_errors or {},
        **extra,
    }
    if wants_fragment(run.request) and run.request.method == "GET":
        response = run.page("facilitator/topics.html", status_code, block="merge_lists", **ctx)
    else:
        response = run.page("facilitator/topics.html", status_code, **ctx)
    response.headers["Vary"] = "HX-Request"
    return response


def _topics_again(run: Facilitation, error: str) -> Response:
    """A refused change of a topic: the topics again, with the reason at the top."""
    return _topics(run, 409, error=error)


def _merge_again(
    run: Facilitation, form: FormData, errors: dict[str, str], error: str, status_code: int
) -> Response:
    """A refused merge: the merge form again, the topics still chosen, the reason by its field."""
    return _topics(
        run,
        status_code,
        merge_values={k: str(form.get(k) or "") for k in ("keep", "duplicate")},
        merge_errors=errors or {"duplicate": error},
    )


@router.post("/facilitate/{event_id}/topics/{topic_id}/hide", again=_topics_again)
def hide_topic(topic_id: RowId, run: FacilitationDep, form: FormDep) -> Response:
    hidden = form.get("hidden") == "1"

    def hide() -> str:
        topic = run.topic(topic_id)
        marketplace.set_hidden(run.session, topic, hidden)
        title = topic.title
        if hidden:
            seated = signups.seats_taken(run.session, topic_id) if topic.placed else 0
            if not seated:
                return _("“%(title)s” is hidden.", title=title)
            return ngettext(
                "“%(title)s” is hidden. %(num)d person has a seat in it: they keep it if you "
                "restore the topic before another takes its place on the wall.",
                "“%(title)s” is hidden. %(num)d people have a seat in it: they keep it if you "
                "restore the topic before another takes its place on the wall.",
                seated,
                title=title,
            )
        waiting = 0 if topic.placed else signups.waiting_for(run.session, topic_id)
        if not waiting:
            return _("“%(title)s” is back on the lists.", title=title)
        return ngettext(
            "“%(title)s” is back on the lists, with no place on the wall: %(num)d person "
            "waits for it and gets a seat when you place it.",
            "“%(title)s” is back on the lists, with no place on the wall: %(num)d people "
            "wait for it and get a seat when you place it.",
            waiting,
            title=title,
        )

    return run.done(hide(), f"{run.base}/topics#topic-{topic_id}")


def _merge_pair(run: Facilitation, form: FormData) -> tuple[Topic, Topic]:
    keep, duplicate = str(form.get("keep") or ""), str(form.get("duplicate") or "")
    if not row_id(keep):
        raise Refused(_("Choose the topic to keep."), "keep")
    if not row_id(duplicate):
        raise Refused(_("Choose its duplicate."), "duplicate")
    with named_by_the_form():
        kept, merged = run.topic(int(keep)), run.topic(int(duplicate))
    marketplace.check_mergeable(kept, merged)
    return kept, merged


@router.post("/facilitate/{event_id}/topics/merge", again=_merge_again)
def merge_topics(run: FacilitationDep, form: FormDep) -> Response:
    """A merge cannot be undone: the first post shows what it will do, with or without
    JavaScript; the second (`confirm`) does it."""
    if form.get("confirm") != "1":
        kept, merged = _merge_pair(run, form)
        will = marketplace.merge_outcome(run.session, run.event, kept, merged)
        names = {
            pid: name
            for pid, (name, _email) in participant_service.contacts(run.session, run.event).items()
        }
        return run.page(
            "facilitator/merge.html",
            kept=kept,
            merged=merged,
            seated=[names.get(p, "") for p in will.seated],
            waiting=[names.get(p, "") for p in will.waiting],
            kept_slot=run.session.get(Slot, kept.slot_id) if kept.slot_id else None,
            merged_slot=run.session.get(Slot, merged.slot_id) if merged.slot_id else None,
        )

    def merge() -> str:
        kept, merged = _merge_pair(run, form)
        seated, waiting = marketplace.merge_topics(run.session, run.event, kept, merged)
        said = _("“%(merged)s” was merged into “%(kept)s”.", merged=merged.title, kept=kept.title)
        if seated:
            said += " " + ngettext(
                "%(num)d of its people has a seat in it.",
                "%(num)d of its people have a seat in it.",
                seated,
            )
        if waiting:
            said += " " + ngettext(
                "%(num)d waits for a seat (busy at that time, no room left, or it has no "
                "place on the wall yet).",
                "%(num)d wait for a seat (busy at that time, no room left, or it has no "
                "place on the wall yet).",
                waiting,
            )
        return said

    return run.done(merge(), f"{run.base}/topics")


@router.get("/facilitate/{event_id}/topics/{topic_id}/edit")
def edit_topic_form(topic_id: RowId, run: FacilitationDep) -> Response:
    topic = run.topic(topic_id)
    return _edit(run, topic, values=topic.model_dump(), errors={})


def _edit(
    run: Facilitation,
    topic: Topic,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return run.page(
        "facilitator/edit_topic.html",
        status_code,
        topic=topic,
        values=values,
        errors=errors,
        themes=event_service.themes(run.session, run.event),
        chosen=marketplace.theme_ids_of(run.session, topic)
        if "themes" not in values
        else values["themes"],
    )


@router.post("/facilitate/{event_id}/topics/{topic_id}/edit")
def edit_topic(topic_id: RowId, run: FacilitationDep, form: FormDep) -> Response:
    topic = run.topic(topic_id)
    values: dict[str, Any] = form_values(form, "title", "description", "language")
    theme_ids = row_ids(form.getlist("themes"))
    data, errors = validate(TopicCreate, values)
    if data is None:
        values["themes"] = theme_ids
        return _edit(run, topic, values, errors, status_code=422)
    marketplace.edit_topic(run.session, run.event, topic, data, theme_ids, policy.FACILITATOR)
    return run.done(
        _("“%(title)s” is saved.", title=topic.title), f"{run.base}/topics#topic-{topic_id}"
    )


# How many people a desk search lists: the person at the desk is among the first few once
# a few letters of their name are typed; a longer list would only be scrolled past.
DESK_MATCHES = 25


@router.get("/facilitate/{event_id}/desk")
def desk(run: FacilitationDep) -> Response:
    """The desk; `q` finds people by name (htmx asks for only the matches as they type),
    `person` is the one being helped."""
    if wants_fragment(run.request):
        response = run.page("facilitator/desk.html", block="found", **_found(run))
    else:
        response = _desk(run)
    response.headers["Vary"] = "HX-Request"
    return response


def _found(run: Facilitation, typed: str | None = None) -> dict[str, Any]:
    """The desk's search for `typed`, by default what the search field sent."""
    typed = (run.request.query_params.get("q", "") if typed is None else typed)[:80]
    return {
        "q": typed,
        "found": participant_service.find(run.session, run.event, typed, DESK_MATCHES),
    }


def _desk(
    run: Facilitation,
    status_code: int = 200,
    chosen: int | None = None,
    search: str | None = None,
    **extra: Any,
) -> Response:
    board = run.board()
    helped = chosen or row_id(run.request.query_params.get("person", ""))
    sessions = [
        (slot, cards)
        for slot in board.slots
        if slot.kind == SlotKind.breakout
        and (cards := [card for space in board.spaces if (card := board.card(slot, space))])
    ]
    ctx: dict[str, Any] = {
        **_found(run, search),
        "chosen": participant_service.of_event(run.session, run.event, helped),
        # Their printed agenda is wrong now: their session moved, or their seat went.
        "reprint": signups.printed_agendas_changed(run.session, run.event),
        "sessions": sessions,
        "values": {},
        "errors": {},
    }
    ctx.update(extra)
    return run.page("facilitator/desk.html", status_code, **ctx)


def _person(run: Facilitation, form: FormData) -> Participant:
    """The person at the desk: someone who joined, or a new participant by name."""
    chosen = row_id(form.get("participant"))
    if chosen and str(form.get("new_name") or "").strip():
        raise Invalid(
            _("Choose someone from the list or type a new name, not both."), "participant"
        )
    if chosen:
        person = run.session.get(Participant, chosen)
        if person is not None and person.event_id == run.event.id:
            return person
    name = str(form.get("new_name") or "").strip()
    if not name:
        raise Invalid(_("Choose the person, or type the name of someone new."), "participant")
    data, errors = validate(ParticipantJoin, {"display_name": name})
    if data is None:
        raise Invalid(errors.get("display_name") or _("Please check the name."), "new_name")
    if participant_service.named(run.session, run.event, data.display_name) is not None:
        raise Invalid(
            _(
                "Someone called “%(name)s” is already in the list: choose them there. If this "
                "is someone else, add something to tell them apart, such as an initial.",
                name=data.display_name,
            ),
            "new_name",
        )
    return participant_service.join_event(run.session, run.event, data)


def _desk_again(form_name: str, field: str) -> Callable[..., Response]:
    """A refused desk form (`form_name`): the desk again, with the person still chosen, the
    words kept and the reason by its field (by default `field`)."""

    def again(
        run: Facilitation,
        values: dict[str, str],
        errors: dict[str, str],
        error: str,
        status_code: int,
    ) -> Response:
        errors = errors or {field: error}
        return _desk(
            run,
            status_code=status_code,
            chosen=row_id(values.get("participant")),
            # A name already in the event: the search lists who has it, to choose them there.
            search=values.get("new_name") if "new_name" in errors else None,
            values={form_name: values},
            errors={form_name: errors},
        )

    return again


@router.post("/facilitate/{event_id}/desk/topic", again=_desk_again("topic", "title"))
def desk_topic(run: FacilitationDep, form: FormDep) -> Response:
    """Enter a topic for someone without a phone (paper-first)."""
    fields = ("title", "description", "language")
    data = valid(TopicCreate, form, *fields, **form_values(form, "participant", "new_name"))
    person = _person(run, form)
    marketplace.propose_topic(run.session, run.event, person, data, at_the_desk=True)
    added = _("“%(title)s” was added for %(name)s.", title=data.title, name=person.display_name)
    return run.done(added, f"{run.base}/desk?person={person.id}#desk-print-h")


@router.post("/facilitate/{event_id}/desk/sign-up", again=_desk_again("sign_up", "topic"))
def desk_sign_up(run: FacilitationDep, form: FormDep) -> Response:
    """Sign someone up to a session at the desk."""
    person = _person(run, form)
    topic_id = str(form.get("topic") or "")
    if not row_id(topic_id):
        raise Refused(_("Choose a session."), "topic")
    with named_by_the_form():  # the session may have gone since the desk's page was drawn
        topic = run.topic(int(topic_id))
    was_in = signups.marks_of(run.session, person).seats.get(topic.slot_id or 0)
    signups.sign_up(run.session, run.event, topic, person)
    done = _("%(name)s has a seat in “%(title)s”.", name=person.display_name, title=topic.title)
    if was_in is not None and was_in != topic.id:  # the law of two feet, said out loud
        left = run.session.get(Topic, was_in)
        done += " " + _(
            "Their seat in “%(title)s” at the same time is free again.",
            title=left.title if left else "",
        )
    return run.done(done, f"{run.base}/desk?person={person.id}#desk-print-h")


def agenda_printed(request: Request, event: FacilitatedEvent, participant: RowId) -> None:
    """The desk prints someone's agenda: note when (in a transaction of its own, as printing
    changes nothing else), so that the desk can say when their seats change after it."""
    database: Database = request.app.state.database

    with database.write() as session:
        signups.agenda_printed(session, event, participant)
