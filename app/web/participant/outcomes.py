"""Participant pages of the afternoon: session reports, actions, the dot vote, the pledge."""

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from app.config import Settings
from app.i18n import _
from app.models import (
    Action,
    ActionStatus,
    Attendance,
    Contribution,
    ContributionKind,
    Report,
    Topic,
)
from app.models.base import row_id
from app.models.outcomes import (
    KIND_LABEL,
    KIND_LABELS,
    STATUS_LABELS,
    ActionForm,
    ContributionCreate,
    PledgeForm,
    ProgressForm,
)
from app.security import LinkSigner, new_secret
from app.services import (
    actions,
    calendars,
    contributions,
    convergence,
    pledges,
    policy,
    reports,
    taking_part,
)
from app.services import events as event_service
from app.services.errors import Invalid, NotFound, Refused
from app.templating import render
from app.web.kit.common import ICS, absolute, download, see_other
from app.web.kit.deps import FormDep, RowId, SettingsDep, SignerDep, verify_csrf
from app.web.kit.forms import (
    FormErrors,
    FormInvalid,
    form_values,
    once_key,
    row_ids,
    valid,
    validate,
    whole_number,
)
from app.web.kit.limits import rate_limited
from app.web.kit.routing import Router
from app.web.participant.attendee import Attendee, AttendeeDep
from app.web.public import live

router = Router(
    prefix="/e/{code}",
    dependencies=[Depends(verify_csrf), Depends(rate_limited)],
)

ACTION_FIELDS = ("title", "first_step", "due_on", "owner_name", "status")
STATUSES = [(status.value, STATUS_LABELS[status]) for status in ActionStatus]
KINDS = [(kind.value, KIND_LABEL[kind]) for kind in ContributionKind]


def update_path(signer: LinkSigner, action: Action) -> str:
    """The private link with which an action's owner reports progress, without an account."""
    assert action.id is not None
    return "/a/" + signer.sign("action", action.id, action.link_version)


def update_link(settings: Settings, signer: LinkSigner, action: Action) -> str:
    return absolute(settings, update_path(signer, action))


def _ticked_themes(form: Any) -> str:
    """The themes ticked, as a page shown again puts them back."""
    return ",".join(str(t) for t in _themes(form))


def _themes(form: Any) -> list[int]:
    return row_ids(form.getlist("themes"))


def _owner_id(form: Any) -> int | None:
    return row_id(form.get("owner"))


# --- reports -------------------------------------------------------------------------------


@router.get("/reports")
def reports_page(me: AttendeeDep) -> Response:
    lines = reports.sessions(me.session, me.event)
    mine = taking_part.my_session_ids(me.session, me.participant)
    return render(
        me.request,
        "participant/reports.html",
        {
            "event": me.event,
            "participant": me.participant,
            "mine": [line for line in lines if line.topic.id in mine],
            "lines": lines,
            "news": reports.news(me.session, me.event),
            **live.page_parts(me.request, me.session, me.event),
        },
    )


def _withdrawn_by(me: Attendee, contribution_id: int) -> Contribution | None:
    """What the person just took back, for the notice with its Undo."""
    found = me.session.get(Contribution, contribution_id)
    if found is None or not found.withdrawn or found.author_id != me.participant.id:
        return None
    return found


def _report_page(
    me: Attendee,
    topic_id: int,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    action_values: dict[str, str] | None = None,
    action_errors: FormErrors | None = None,
    people_error: str = "",
    people_name: str = "",
) -> Response:
    topic = reports.session_topic(me.session, me.event, topic_id)
    view = reports.report_view(me.session, me.event, topic)
    changed = row_id(me.request.query_params.get("changed"))
    added = row_id(me.request.query_params.get("added"))
    withdrawn = row_id(me.request.query_params.get("withdrawn"))
    return render(
        me.request,
        "participant/report.html",
        {
            "just_added": next((line for line in view.actions if line.action.id == added), None),
            "just_withdrawn": _withdrawn_by(me, withdrawn) if withdrawn else None,
            "just_changed": next((c for c in view.changes if c.row.id == changed), None),
            "event": me.event,
            "participant": me.participant,
            "view": view,
            "kinds": KINDS,
            "kind_labels": KIND_LABELS,
            "statuses": STATUSES,
            "status_labels": STATUS_LABELS,
            "themes": event_service.themes(me.session, me.event),
            "attendees": [p for p in view.people if p.participant_id is not None],
            "values": values or {"kind": ContributionKind.key_point.value},
            "errors": errors or {},
            "action_values": action_values or {"owner": str(me.participant.id)},
            "action_errors": action_errors or {},
            "people_error": people_error,
            "people_name": people_name,
            "write_key": new_secret(),
            "action_key": new_secret(),
            **live.page_parts(me.request, me.session, me.event),
        },
        status_code=status_code,
    )


@router.get("/reports/{topic_id}")
def report_page(topic_id: RowId, me: AttendeeDep) -> Response:
    return _report_page(me, topic_id)


def _contribution_again(
    me: Attendee, topic_id: int, values: dict[str, str], errors: FormErrors, error: str
) -> Response:
    """A refused contribution: the report again, the words kept, the reason by them."""
    errors = errors or {"body": error}
    return _report_page(me, topic_id, status_code=422, values=values, errors=errors)


@router.post("/reports/{topic_id}/contributions", again=_contribution_again)
def add_contribution(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    data = valid(ContributionCreate, form, "kind", "body")
    topic = reports.session_topic(me.session, me.event, topic_id)
    write_key = once_key(form.get("write_key"), form_values(form, "kind", "body"))
    added = contributions.contribute(me.session, me.event, topic, me.participant, data, write_key)
    return see_other(f"{me.home}/reports/{topic_id}#c{added.id}")


@router.get("/contributions/{contribution_id}/edit")
def edit_contribution_form(contribution_id: RowId, me: AttendeeDep) -> Response:
    contribution = contributions.contribution_in(me.session, me.event, contribution_id)
    return _edit_page(me, contribution.id or 0, contribution.body, contribution.version)


def _edit_page(
    me: Attendee,
    contribution_id: int,
    body: str,
    version: int,
    *,
    status_code: int = 200,
    error: str = "",
    theirs: str | None = None,
    confirm_withdraw: bool = False,
) -> Response:
    contribution = contributions.contribution_in(me.session, me.event, contribution_id)
    report = me.session.get_one(Report, contribution.report_id)
    return render(
        me.request,
        "participant/contribution.html",
        {
            "event": me.event,
            "participant": me.participant,
            "contribution": contribution,
            "topic_id": report.topic_id,
            "mine": contribution.author_id == me.participant.id,
            "history": contributions.history(me.session, contribution),
            "values": {"body": body},
            "version": version,
            "error": error,
            "theirs": theirs,
            "kind_labels": KIND_LABELS,
            "confirm_withdraw": confirm_withdraw,
            "may_withdraw": policy.may_withdraw(policy.participant(me.participant), contribution),
        },
        status_code=status_code,
    )


def _edit_again(me: Attendee, contribution_id: int, form: FormData, error: str) -> Response:
    """A refused edit: the words kept, with why."""
    body, version = str(form.get("body") or "").strip(), whole_number(form.get("version")) or 0
    return _edit_page(me, contribution_id, body, version, status_code=409, error=error)


@router.post("/contributions/{contribution_id}/edit", again=_edit_again)
def edit_contribution(contribution_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    body = str(form.get("body") or "").strip()
    version = str(form.get("version") or "")
    if whole_number(version) is None:
        raise Invalid(_("The form was incomplete. Please reload the page."))
    data, errors = validate(ContributionCreate, {"kind": ContributionKind.note, "body": body})
    if data is None:
        return _edit_page(
            me, contribution_id, body, int(version), status_code=422, error=errors["body"]
        )
    try:
        edited = contributions.edit_contribution(
            me.session, me.event, contribution_id, me.participant, data.body, int(version)
        )
    except contributions.EditConflict as conflict:
        return _edit_page(
            me,
            contribution_id,
            body,
            conflict.current.version,
            status_code=409,
            error=_(
                "Someone changed this while you were editing. Your text is below, "
                "next to what it says now: nothing was saved over. Check both, then save again."
            ),
            theirs=conflict.current.body,
        )
    report = me.session.get_one(Report, edited.report_id)
    return see_other(f"{me.home}/reports/{report.topic_id}#c{edited.id}")


@router.post("/contributions/{contribution_id}/withdraw")
def withdraw_contribution(contribution_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """The author takes back what they wrote: asked first (a confirm, or a page without
    JavaScript), and undone from the notice on the report."""
    contribution = contributions.contribution_in(me.session, me.event, contribution_id)
    if form.get("confirm") != "1":
        return _edit_page(
            me, contribution_id, contribution.body, contribution.version, confirm_withdraw=True
        )
    contributions.withdraw_contribution(me.session, me.event, contribution_id, me.participant, True)
    report = me.session.get_one(Report, contribution.report_id)
    return see_other(f"{me.home}/reports/{report.topic_id}?withdrawn={contribution_id}#add")


@router.post("/contributions/{contribution_id}/put-back")
def put_back_contribution(contribution_id: RowId, me: AttendeeDep) -> Response:
    """Undo taking something back: it is in the report again, as it was."""
    restored = contributions.withdraw_contribution(
        me.session, me.event, contribution_id, me.participant, False
    )
    report = me.session.get_one(Report, restored.report_id)
    return see_other(f"{me.home}/reports/{report.topic_id}#c{contribution_id}")


def _whom(form: Any) -> tuple[int | None, int | None]:
    """Who a change to the list is about: a participant, or a name typed by hand."""
    return row_id(form.get("participant_id")), row_id(form.get("attendance_id"))


def _change_list(me: Attendee, topic: Topic, form: Any, **change: Any) -> Attendance:
    """The person's own change to who took part, about the one the form names."""
    participant_id, attendance_id = _whom(form)
    return taking_part.set_taking_part(
        me.session,
        me.event,
        topic,
        policy.participant(me.participant),
        participant_id=participant_id,
        attendance_id=attendance_id,
        **change,
    )


def _people_again(
    me: Attendee, topic_id: int, form: FormData, errors: FormErrors, error: str
) -> Response:
    """A refused change to who took part: the report again, the reason by the list (422
    when it is about the name typed), the name kept."""
    return _report_page(
        me,
        topic_id,
        status_code=422 if errors else 409,
        people_error=error,
        people_name=str(form.get("name") or ""),
    )


@router.post("/reports/{topic_id}/people", again=_people_again)
def correct_people(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """Add someone to who took part (a participant, a typed name), or put them back."""
    if form.get("present") == "0":  # a form from before taking off asked first
        return take_off(topic_id, me, form)
    topic = reports.session_topic(me.session, me.event, topic_id)
    row = _change_list(me, topic, form, name=str(form.get("name") or ""))
    return see_other(f"{me.home}/reports/{topic_id}?changed={row.id}#people")


@router.post("/reports/{topic_id}/people/take-off", again=_people_again)
def take_off(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    """Take someone off who took part: the first post asks (the page, or with JavaScript a
    question before it is sent); the one with `confirm` does it."""
    topic = reports.session_topic(me.session, me.event, topic_id)
    participant_id, attendance_id = _whom(form)
    if form.get("confirm") != "1":
        view = reports.report_view(me.session, me.event, topic)
        person = next(
            (
                p
                for p in view.people
                if (participant_id and p.participant_id == participant_id)
                or (attendance_id and p.attendance_id == attendance_id)
            ),
            None,
        )
        if person is None:
            return see_other(f"{me.home}/reports/{topic_id}#people")
        if not view.may_take_off(me.participant, person):
            raise Refused(str(taking_part.TAKE_OFF_RULE))
        return render(
            me.request,
            "participant/take_off.html",
            {"event": me.event, "participant": me.participant, "view": view, "person": person},
        )
    row = _change_list(me, topic, form, present=False)
    return see_other(f"{me.home}/reports/{topic_id}?changed={row.id}#people")


@router.post("/reports/{topic_id}/complete")
def complete(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    topic = reports.session_topic(me.session, me.event, topic_id)
    reports.complete_report(me.session, me.event, topic, me.participant, form.get("done") == "1")
    return see_other(f"{me.home}/reports/{topic_id}")


def _action_form_again(
    me: Attendee, topic_id: int, form: FormData, errors: FormErrors, error: str
) -> Response:
    """A refused action: the report again, the words kept, the reason by its field."""
    values = {**form_values(form, *ACTION_FIELDS, "owner"), "themes": _ticked_themes(form)}
    errors = errors or {"title": error}
    return _report_page(me, topic_id, status_code=422, action_values=values, action_errors=errors)


@router.post("/reports/{topic_id}/actions", again=_action_form_again)
def add_action(topic_id: RowId, me: AttendeeDep, form: FormDep) -> Response:
    data = valid(ActionForm, form, *ACTION_FIELDS, "owner")
    topic = reports.session_topic(me.session, me.event, topic_id)
    action = actions.add_action(
        me.session,
        me.event,
        topic,
        me.participant,
        data,
        owner_id=_owner_id(form),
        theme_ids=_themes(form),
        write_key=once_key(form.get("write_key"), form_values(form, *ACTION_FIELDS, "owner")),
    )
    # Back to the report, to write the next one: the action's own page (its owner's private
    # link) is one tap away from the notice.
    return see_other(f"{me.home}/reports/{topic_id}?added={action.id}#action-{action.id}")


# --- actions -------------------------------------------------------------------------------


def _action_page(
    me: Attendee,
    settings: Settings,
    signer: LinkSigner,
    action_id: int,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    progress_values: dict[str, str] | None = None,
    progress_errors: FormErrors | None = None,
) -> Response:
    action = actions.action_in(me.session, me.event, action_id)
    if action.hidden:
        raise Refused(_("The facilitators have removed this action."))
    found = actions.action_line(me.session, action)
    report = me.session.get_one(Report, action.report_id)
    may_change = actions.may_change(me.session, action, me.participant)
    theme_ids = actions.theme_ids(me.session, action)
    return render(
        me.request,
        "participant/action.html",
        {
            "event": me.event,
            "participant": me.participant,
            "line": found,
            "action": action,
            "topic_id": report.topic_id,
            "may_change": may_change,
            "link": update_link(settings, signer, action) if may_change else "",
            "link_path": update_path(signer, action),
            "updates": actions.progress(me.session, action),
            "statuses": STATUSES,
            "status_labels": STATUS_LABELS,
            "themes": event_service.themes(me.session, me.event),
            "attendees": taking_part.people(me.session, me.session.get_one(Topic, report.topic_id)),
            "values": values or _action_values(action, theme_ids),
            "errors": errors or {},
            "progress_values": progress_values or {"status": action.status},
            "progress_errors": progress_errors or {},
        },
        status_code=status_code,
    )


def _action_values(action: Action, theme_ids: list[int]) -> dict[str, str]:
    return {
        "title": action.title,
        "first_step": action.first_step,
        "due_on": action.due_on.isoformat() if action.due_on else "",
        "owner": str(action.owner_id or ""),
        "owner_name": action.owner_name,
        "status": action.status,
        "themes": ",".join(str(t) for t in theme_ids),
    }


@router.get("/actions/{action_id}")
def action_page(
    action_id: RowId, me: AttendeeDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    return _action_page(me, settings, signer, action_id)


def _edit_action_again(
    me: Attendee,
    settings: Settings,
    signer: LinkSigner,
    action_id: int,
    form: FormData,
    errors: FormErrors,
    error: str,
    status_code: int,
) -> Response:
    """A refused change to an action: its page again, the words kept, the reason by them."""
    values = {**form_values(form, *ACTION_FIELDS, "owner"), "themes": _ticked_themes(form)}
    errors = errors or {"title": error}
    return _action_page(
        me, settings, signer, action_id, status_code=status_code, values=values, errors=errors
    )


@router.post("/actions/{action_id}", again=_edit_action_again)
def edit_action(
    action_id: RowId, me: AttendeeDep, form: FormDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    action = actions.action_in(me.session, me.event, action_id)
    actions.check_may_change(me.session, action, me.participant)
    data = valid(ActionForm, form, *ACTION_FIELDS, "owner")
    owner_id, theme_ids = _owner_id(form), _themes(form)
    actions.edit_action(
        me.session, me.event, action, me.participant, data, owner_id=owner_id, theme_ids=theme_ids
    )
    return see_other(f"{me.home}/actions/{action_id}?saved=1")


def _progress_again(
    me: Attendee,
    settings: Settings,
    signer: LinkSigner,
    action_id: int,
    values: dict[str, str],
    errors: FormErrors,
    error: str,
    status_code: int,
) -> Response:
    """A refused progress note: the action's page again, the note kept."""
    return _action_page(
        me,
        settings,
        signer,
        action_id,
        status_code=status_code,
        progress_values=values,
        progress_errors=errors or {"note": error},
    )


@router.post("/actions/{action_id}/progress", again=_progress_again)
def post_progress(
    action_id: RowId, me: AttendeeDep, form: FormDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    data = valid(ProgressForm, form, "status", "note")
    action = actions.action_in(me.session, me.event, action_id)
    actions.check_may_change(me.session, action, me.participant)
    written_by = me.participant.display_name
    actions.post_progress(
        me.session,
        action,
        data,
        via_link=False,
        written_by=written_by,
        author_id=me.participant.id,
    )
    return see_other(f"{me.home}/actions/{action_id}#progress")


@router.post("/actions/{action_id}/renew-link")
def renew_link(action_id: RowId, me: AttendeeDep) -> Response:
    action = actions.action_in(me.session, me.event, action_id)
    actions.check_may_change(me.session, action, me.participant)
    actions.renew_link(me.session, action)
    return see_other(f"{me.home}/actions/{action_id}?renewed=1#link")


@router.get("/actions")
def my_actions(me: AttendeeDep) -> Response:
    return render(
        me.request,
        "participant/actions.html",
        {
            "event": me.event,
            "participant": me.participant,
            "lines": actions.action_lines(me.session, me.event, owner_id=me.participant.id),
            "for_others": actions.action_lines(me.session, me.event, written_by=me.participant.id),
            "status_labels": STATUS_LABELS,
        },
    )


# --- the dot vote --------------------------------------------------------------------------


def _vote_page(me: Attendee, *, status_code: int = 200, error: str = "") -> Response:
    mine = convergence.my_dots(me.session, me.participant)
    return render(
        me.request,
        "participant/vote.html",
        {
            "event": me.event,
            "participant": me.participant,
            "lines": [line for line in reports.sessions(me.session, me.event) if line.report],
            "actions": actions.action_lines(me.session, me.event),
            "mine": mine,
            "left": me.event.dots_per_person - sum(mine.values()),
            "vote_held": convergence.vote_held(me.session, me.event),
            "status_labels": STATUS_LABELS,
            "error": error,
            **live.page_parts(me.request, me.session, me.event),
        },
        status_code=status_code,
    )


@router.get("/vote")
def vote_page(me: AttendeeDep) -> Response:
    return _vote_page(me)


@router.post("/vote/{kind}/{target_id}/{move}", again=_vote_page)
def vote(kind: str, target_id: RowId, move: str, me: AttendeeDep) -> Response:
    if kind not in ("report", "action") or move not in ("place", "take"):
        raise NotFound(_("There is no such vote."))
    act = convergence.place_dot if move == "place" else convergence.take_dot
    act(me.session, me.event, me.participant, kind, target_id)
    return see_other(f"{me.home}/vote#{kind}-{target_id}")


# --- the pledge ----------------------------------------------------------------------------


def _pledge_page(
    me: Attendee,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    pledge = pledges.pledge_of(me.session, me.event, me.participant)
    if values is None:
        values = (
            {
                "text": pledge.text,
                "may_contact": "1" if pledge.may_contact else "",
                "postcard": "1" if pledges.wants_postcard(me.session, me.participant) else "",
                "remind_on": pledge.remind_on.isoformat(),
            }
            if pledge
            else {"remind_on": pledges.default_reminder(me.event).isoformat()}
        )
        values["email"] = me.participant.email
    return render(
        me.request,
        "participant/pledge.html",
        {
            "event": me.event,
            "participant": me.participant,
            "pledge": pledge,
            "values": values,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/pledge")
def pledge_page(me: AttendeeDep) -> Response:
    return _pledge_page(me)


def _pledge_values(form: FormData) -> dict[str, str]:
    values = form_values(form, "text", "remind_on", "email")
    for ticked in ("may_contact", "postcard"):
        values[ticked] = "1" if form.get(ticked) == "1" else ""
    return values


def _pledge_again(me: Attendee, form: FormData, errors: FormErrors, error: str) -> Response:
    """A refused pledge: the page again, the words kept, the reason by its field."""
    errors = errors or {"text": error}
    return _pledge_page(me, status_code=422, values=_pledge_values(form), errors=errors)


@router.post("/pledge", again=_pledge_again)
def save_pledge(me: AttendeeDep, form: FormDep) -> Response:
    values = _pledge_values(form)
    data, errors = validate(
        PledgeForm,
        {
            **values,
            "may_contact": bool(values["may_contact"]),
            "postcard": bool(values["postcard"]),
        },
    )
    if data is None:
        raise FormInvalid(values, errors)
    pledges.save_pledge(me.session, me.event, me.participant, data)
    return see_other(f"{me.home}/pledge?saved=1")


@router.get("/pledge.ics")
def pledge_calendar(me: AttendeeDep, settings: SettingsDep) -> Response:
    pledge = pledges.pledge_of(me.session, me.event, me.participant)
    if pledge is None:
        raise NotFound(_("Write your pledge first; then you can add its reminder."))
    ics = calendars.pledge_reminder(me.event, pledge, absolute(settings, f"{me.home}/pledge"))
    return download(ics, ICS, "my-pledge.ics")


@router.get("/agenda.ics")
def my_agenda_calendar(me: AttendeeDep) -> Response:
    """The plenaries and my sessions, for my phone's calendar."""
    return download(calendars.my_agenda(me.session, me.event, me.participant), ICS, "my-agenda.ics")


@router.get("/sessions.ics")
def sessions_calendar(me: AttendeeDep) -> Response:
    """Every session of the event."""
    return download(calendars.sessions(me.session, me.event), ICS, "sessions.ics")


# --- the news wall -------------------------------------------------------------------------


@router.get("/news")
def news_page(request: Request, me: AttendeeDep) -> Response:
    return render(
        request,
        "participant/news.html",
        {
            "event": me.event,
            "participant": me.participant,
            "news": reports.news(me.session, me.event, limit=100),
            **live.page_parts(me.request, me.session, me.event),
        },
    )
