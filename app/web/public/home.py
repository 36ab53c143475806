"""Pages for everyone: the front door, finding an event by its code, organiser log-in."""

import logging
import math
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response

from app import i18n
from app.i18n import _, ngettext
from app.models import Organiser
from app.models.base import utcnow
from app.services import accounts, audit
from app.services import events as event_service
from app.templating import HTMX, HTMX_SSE, render, render_part
from app.web.kit.assets import digest_of, static_url
from app.web.kit.common import safe_next, see_other
from app.web.kit.deps import (
    FormDep,
    MaybeOrganiser,
    SessionDep,
    SettingsDep,
    VisitorDep,
    remember_and_go,
    verify_csrf,
)
from app.web.kit.forms import form_values
from app.web.kit.limits import looked_up
from app.web.kit.routing import Router

log = logging.getLogger("openspace")
router = Router(dependencies=[Depends(verify_csrf)])
# What a phone keeps for pages shown without a connection.
OFFLINE_ASSETS = ("css/app.css", "js/app.js", HTMX, HTMX_SSE, "img/favicon.svg")


@router.get("/")
def front_door(request: Request, organiser: MaybeOrganiser) -> Response:
    return render(request, "public/home.html", {"organiser": organiser, "values": {}})


@router.get("/join")
def find_event(
    request: Request,
    session: SessionDep,
    visitor: VisitorDep,
    code: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The join-code form; a known code goes straight on to that event."""
    if not code.strip():
        return render(request, "public/home.html", {"values": {}, "errors": {}})

    def refused(message: str, status_code: int) -> Response:
        context = {"values": {"code": code}, "errors": {"code": message}}
        return render(request, "public/home.html", context, status_code=status_code)

    event = event_service.event_by_code(session, code)
    try:
        looked_up(
            request, event is not None, event is not None and str(event.id) in visitor.participants
        )
    except HTTPException as too_many:
        page = refused(str(too_many.detail), too_many.status_code)
        page.headers.update(too_many.headers or {})
        return page
    if event is None:
        return refused(
            _(
                "We could not find an event with the code “%(code)s”. "
                "Check the code on the screen or poster and try again.",
                code=code.strip(),
            ),
            404,
        )
    return see_other(f"/e/{event.join_code}/join")


@router.get("/sw.js")
def service_worker(request: Request) -> Response:
    """The service worker, at the root so that it may keep the event's pages."""
    assets = [static_url(path) for path in OFFLINE_ASSETS]
    script = render_part(request, "sw.js", {"assets": assets, "version": digest_of(assets)})
    return Response(
        script,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get("/offline")
def offline(request: Request) -> Response:
    """What a phone shows for a page it has never kept, when there is no connection."""
    return render(request, "public/offline.html")


@router.post("/language")
def choose_language(form: FormDep, settings: SettingsDep) -> Response:
    """The language switcher on every page: remember the choice, go back to the page."""
    code = str(form.get("language") or "")
    response = see_other(safe_next(str(form.get("next") or ""), "/"))
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            code,
            max_age=365 * 86400,
            samesite="lax",
            secure=settings.secure_cookies,
        )
    return response


@router.get("/j/{code}")
def join_link(code: str) -> Response:
    """The short link inside the join QR code."""
    return see_other(f"/join?code={code}")


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    return render(request, "public/login.html", {"values": {"next": next}, "errors": {}})


@router.post("/login")
def log_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    form: FormDep,
) -> Response:
    values = form_values(form, "email", "password", "next")
    account = accounts.organiser_by_email(session, values["email"])
    now = utcnow()
    if account is not None:
        paused = accounts.paused_until(account, now)
    else:  # paused alike, so that a pause tells nobody which addresses have an account
        paused = accounts.no_such_accounts.paused_until(values["email"], now)
    organiser = None
    if paused is None:
        # The password is checked outside any write turn (argon2 takes tens of ms), and its
        # outcome written in a short transaction of its own: this route only reads.
        organiser = accounts.authenticate(session, values["email"], values["password"])
        if account is not None:
            assert account.id is not None
            with request.app.state.database.write() as writing:
                if organiser is None:
                    paused = accounts.record_wrong_password(writing, account.id, now)
                    audit.record(writing, None, account.email, "log-in: wrong password", "")
                elif account.failed_logins:
                    accounts.record_sign_in(writing, account.id)
        else:
            paused = accounts.no_such_accounts.record_wrong_password(values["email"], now)
    if organiser is None:
        values["password"] = ""
        headers = {}
        message = _("That e-mail address and password do not match.")
        if paused is not None:
            wait = max(1, math.ceil((paused - now).total_seconds()))
            headers["Retry-After"] = str(wait)
            message = (
                ngettext(
                    "Too many wrong passwords for this address. Try again in %(num)d second.",
                    "Too many wrong passwords for this address. Try again in %(num)d seconds.",
                    wait,
                )
                + " "
                + _("Forgot it? Ask for a link to set a new one, below.")
            )
            log.warning("log-in refused for %s: paused until %s", values["email"], paused)
        response = render(
            request,
            "public/login.html",
            {"values": values, "errors": {"password": message}},
            status_code=429 if paused is not None else 400,
        )
        response.headers.update(headers)
        return response
    visitor.as_organiser(organiser.id, organiser.session_generation)
    going = safe_next(values["next"], "/organiser")
    if organiser.must_change_password:
        going = "/organiser/account?first=1"
    return remember_and_go(going, visitor, settings)


@router.post("/logout")
def log_out(request: Request, settings: SettingsDep, visitor: VisitorDep) -> Response:
    """Log out: every browser signed in to this account is signed out, copies included."""
    if visitor.organiser_id is not None:
        with request.app.state.database.write() as writing:
            organiser = writing.get(Organiser, visitor.organiser_id)
            if (
                organiser is not None
                and organiser.session_generation == visitor.organiser_generation
            ):
                accounts.end_sign_ins(writing, organiser)
    visitor.as_organiser(None, 0)
    visitor.facilitator_links.clear()
    return remember_and_go("/", visitor, settings)
