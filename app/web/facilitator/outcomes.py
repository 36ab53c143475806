"""Facilitator pages of the afternoon: reports at a glance, hiding, the dot vote, groups."""

from collections.abc import Callable
from typing import Any

from fastapi import Depends
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.i18n import _, ngettext
from app.models import Action, Attendance, Contribution, Event, Participant, Topic
from app.models.base import row_id
from app.models.outcomes import KIND_LABELS, STATUS_LABELS, GroupForm
from app.security import LinkSigner
from app.services import (
    actions,
    check_out,
    contributions,
    convergence,
    policy,
    reports,
    taking_part,
)
from app.services.errors import NotFound
from app.web.facilitator.day import Facilitation, FacilitationDep
from app.web.kit.audit import audited
from app.web.kit.deps import FormDep, RowId, SettingsDep, SignerDep, verify_csrf
from app.web.kit.forms import row_ids, valid, whole_number
from app.web.kit.routing import Router
from app.web.participant.outcomes import update_link

router = Router(
    prefix="/facilitate/{event_id}",
    dependencies=[Depends(verify_csrf), Depends(audited)],
)


def _outcomes(run: Facilitation, status_code: int = 200, **extra: Any) -> Response:
    lines = actions.action_lines(run.session, run.event)
    return run.page(
        "facilitator/outcomes.html",
        status_code,
        **{
            "sessions": reports.sessions(run.session, run.event),
            "actions": lines,
            "top": sorted(lines, key=lambda line: -line.dots)[:10],
            "groups": convergence.groups(run.session, run.event),
            "check_out": check_out.answers(run.session, run.event),
            "status_labels": STATUS_LABELS,
            "values": {},
            "errors": {},
            **extra,
        },
    )


@router.get("/outcomes")
def outcomes_page(run: FacilitationDep) -> Response:
    return _outcomes(run)


@router.post("/vote", again=_outcomes)
def vote(run: FacilitationDep, form: FormDep) -> Response:
    is_open = form.get("open") == "1"
    convergence.open_vote(run.session, run.event, is_open, whole_number(form.get("dots")))
    said = _("The dot vote is open.") if is_open else _("The dot vote is closed.")
    return run.done(said, f"{run.base}/outcomes#vote")


@router.post("/check-out", again=_outcomes)
def open_check_out(run: FacilitationDep, form: FormDep) -> Response:
    """Open or close the closing circle's check-out."""
    is_open = form.get("open") == "1"
    check_out.open_check_out(run.session, run.event, is_open)
    said = (
        _("The check-out is open on every phone, and on the projector.")
        if is_open
        else _("The check-out is closed.")
    )
    return run.done(said, f"{run.base}/outcomes#check-out")


def _group_again(
    run: Facilitation,
    form: FormData,
    values: dict[str, str],
    errors: dict[str, str],
    error: str,
    status_code: int,
) -> Response:
    """A refused group: the outcomes page again, its actions still ticked."""
    chosen = row_ids(form.getlist("actions"))
    return _outcomes(run, status_code, values=values, errors=errors, error=error, chosen=chosen)


@router.post("/groups", again=_group_again)
def group(run: FacilitationDep, form: FormDep) -> Response:
    data = valid(GroupForm, form, "name", "initiator")
    ids = row_ids(form.getlist("actions"))
    convergence.group_actions(run.session, run.event, ids, data)
    said = ngettext(
        "Grouped %(num)d action as “%(name)s”.",
        "Grouped %(num)d actions as “%(name)s”.",
        len(ids),
        name=data.name,
    )
    return run.done(said, f"{run.base}/outcomes#groups")


@router.post("/groups/{group_id}/ungroup", again=_outcomes)
def ungroup(group_id: RowId, run: FacilitationDep) -> Response:
    convergence.ungroup(run.session, run.event, group_id)
    return run.done(_("The group is undone."), f"{run.base}/outcomes#groups")


def _report(
    run: Facilitation,
    settings: Any,
    signer: LinkSigner,
    topic_id: int,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    topic = reports.session_topic(run.session, run.event, topic_id)
    view = reports.report_view(run.session, run.event, topic, with_hidden=True)
    return run.page(
        "facilitator/report.html",
        status_code,
        view=view,
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        links={line.action.id: update_link(settings, signer, line.action) for line in view.actions},
        **extra,
    )


@router.get("/reports/{topic_id}")
def report_page(
    topic_id: RowId, run: FacilitationDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    return _report(run, settings, signer, topic_id)


def _person_on(view: reports.ReportView, form: Any) -> taking_part.Person | None:
    participant_id, attendance_id = (
        row_id(form.get("participant_id")),
        row_id(form.get("attendance_id")),
    )
    return next(
        (
            p
            for p in view.people
            if (participant_id and p.participant_id == participant_id)
            or (attendance_id and p.attendance_id == attendance_id)
        ),
        None,
    )


@router.post("/reports/{topic_id}/people/take-off", again=_report)
def take_off(
    topic_id: RowId, run: FacilitationDep, form: FormDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    """Take someone off who took part in a session (asked first, without JavaScript too)."""
    topic = reports.session_topic(run.session, run.event, topic_id)
    back = f"{run.base}/reports/{topic_id}#people"
    if form.get("confirm") != "1":
        view = reports.report_view(run.session, run.event, topic)
        person = _person_on(view, form)
        if person is None:
            return run.done(None, back)
        return run.page("facilitator/take_off.html", view=view, person=person)

    row = _change_list(run, topic, form, present=False)
    said = _(
        "%(name)s is off the list. Undo it under “Changes to this list”.", name=_name(run, row)
    )
    return run.done(said, back)


def _change_list(run: Facilitation, topic: Topic, form: Any, **change: Any) -> Attendance:
    """A facilitator's change to who took part, about the person the form names."""
    return taking_part.set_taking_part(
        run.session,
        run.event,
        topic,
        policy.FACILITATOR,
        participant_id=row_id(form.get("participant_id")),
        attendance_id=row_id(form.get("attendance_id")),
        **change,
    )


@router.post("/reports/{topic_id}/people", again=_report)
def put_back(
    topic_id: RowId, run: FacilitationDep, form: FormDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    """Add someone to who took part in a session, or put them back."""
    topic = reports.session_topic(run.session, run.event, topic_id)
    row = _change_list(run, topic, form, name=str(form.get("name") or ""))
    said = _("%(name)s is on the list again.", name=_name(run, row))
    return run.done(said, f"{run.base}/reports/{topic_id}#people")


def _name(run: Facilitation, row: Attendance) -> str:
    if row.participant_id is None:
        return row.name
    return run.session.get_one(Participant, row.participant_id).display_name


def _back(run: Facilitation, form: FormData) -> str:
    """The page a change on a report, or on the outcomes page, was made from."""
    topic_id = row_id(form.get("topic_id"))
    return f"{run.base}/reports/{topic_id}" if topic_id else f"{run.base}/outcomes"


def _back_again(
    run: Facilitation, form: FormData, settings: Any, signer: LinkSigner, error: str
) -> Response:
    """A refused change on a report (or the outcomes page): that page again, with why."""
    topic_id = row_id(form.get("topic_id"))
    if topic_id:
        return _report(run, settings, signer, topic_id, 409, error=error)
    return _outcomes(run, 409, error=error)


HIDEABLE: dict[str, Callable[[Session, Event, int], Contribution | Action]] = {
    "contributions": contributions.contribution_in,
    "actions": actions.action_in,
}


@router.post("/{kind}/{row_id}/hide", again=_back_again)
def hide(
    kind: str,
    row_id: RowId,
    run: FacilitationDep,
    form: FormDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    """Hide (or show again) a contribution or an action, from everyone."""
    find = HIDEABLE.get(kind)
    if find is None:
        raise NotFound(_("There is no such thing to hide."))
    hidden = form.get("hidden") == "1"

    contributions.hide(run.session, run.event, find(run.session, run.event, row_id), hidden)
    return run.done(_("Hidden from everyone.") if hidden else _("Shown again."), _back(run, form))


@router.post("/actions/{action_id}/renew-link", again=_back_again)
def renew_link(
    action_id: RowId, run: FacilitationDep, form: FormDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    actions.renew_link(run.session, actions.action_in(run.session, run.event, action_id))
    said = _("A new update link replaces the old one, which no longer works.")
    return run.done(said, _back(run, form))
