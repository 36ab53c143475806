"""The app's own error pages, including the one for a database that cannot store anything,
and the one mapping from the domain's errors (by their meaning) to an answer."""

import json
import logging
import math
from collections.abc import Mapping

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import escape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.db import StorageFault
from app.i18n import _, lazy
from app.services.errors import DomainError, Gone, Invalid, NotAllowed, NotFound, Refused
from app.templating import render, wants_fragment

log = logging.getLogger("openspace")

TITLES = {
    400: lazy("Something in the request was not right"),
    401: lazy("Please log in"),
    403: lazy("This page is not for you"),
    404: lazy("We could not find that page"),
    405: lazy("That cannot be done here"),
    409: lazy("That could not be done"),
    410: lazy("This link no longer works"),
    413: lazy("That was too much to send at once"),
    429: lazy("Please slow down a little"),
    422: lazy("Something in the request was not right"),
    500: lazy("Something went wrong on our side"),
    503: lazy("Nothing can be saved just now"),
}
# Fields a form carries for the app, or choices rather than text: sent again, not shown.
_CARRIED = frozenset(
    {"next", "fragment", "fragment_id", "version", "kind", "language", "themes", "cell", "move"}
)
# What a kept field is called on the page, where the form's own label is known.
_LABELS = {
    "title": lazy("Your topic, in a few words"),
    "description": lazy("Description"),
    "display_name": lazy("Your name"),
    "name": lazy("Name"),
    "body": lazy("What you wrote"),
}
# The status each kind of domain error answers with; a subclass answers as its kind does
# (SessionFull as Refused), and a DomainError of no narrower kind as a refusal.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    NotAllowed: 403,
    Refused: 409,
    Gone: 410,
    Invalid: 422,
    DomainError: 409,
}
RETRY_AFTER_FAULT = 60
RETRY_AFTER_UNAVAILABLE = 5
RETRY_AFTER_BUSY = 2


class BodyTooLarge(StarletteHTTPException):
    """A request that sends more than the server takes (OPENSPACE_MAX_BODY_BYTES)."""

    def __init__(self, limit: int) -> None:
        size = f"{limit / 2**20:.3g} MB" if limit >= 2**20 else f"{math.ceil(limit / 2**10)} KB"
        super().__init__(
            413,
            _(
                "That was more than the server takes at once (%(size)s at most), so none of "
                "it was read or saved. Please send less at a time.",
                size=size,
            ),
            # The rest of the body is not read: the connection cannot carry another request.
            headers={"Connection": "close"},
        )


def too_large_page(request: Request, limit: int) -> Response:
    """413 for a request whose Content-Length is over the limit, answered unread."""
    refused = BodyTooLarge(limit)
    page = error_page(request, refused.status_code, refused.detail)
    page.headers.update(refused.headers or {})
    return page


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(
    request: Request, status: int, message: str, extra: dict[str, object] | None = None
) -> Response:
    """The app's own page for an error, or JSON for the API."""
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    return render(
        request,
        "errors.html",
        {
            "status": status,
            "title": str(TITLES[status]) if status in TITLES else _("That did not work"),
            "message": message,
            **(extra or {}),
        },
        status_code=status,
    )


def api_validation_error(exc: RequestValidationError) -> JSONResponse:
    """422 naming each field at fault and why. What was sent is not echoed back: it may be
    megabytes, or a number JSON cannot carry (NaN, Infinity, 1e999)."""
    detail = []
    for error in exc.errors():
        entry = {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        context = jsonable_encoder(error.get("ctx") or {})
        if context and _json_safe(context):
            entry["ctx"] = context
        detail.append(entry)
    return JSONResponse({"detail": detail}, status_code=422)


def _json_safe(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def status_line(message: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """For htmx: the message goes in the page's status line; the form and its text stay."""
    return HTMLResponse(
        escape(message),
        status_code=status,
        headers={**(headers or {}), "HX-Retarget": "#connection", "HX-Reswap": "innerHTML"},
    )


def status_of(error: DomainError) -> int:
    """The status a domain error answers with, decided by its kind."""
    return next(DOMAIN_STATUS[kind] for kind in type(error).__mro__ if kind in DOMAIN_STATUS)


async def domain_error(request: Request, exc: Exception) -> Response:
    """The answer to any error the domain raised: its status by its kind; JSON for the API,
    the status line for htmx (the form and its text stay), else the error page. Bad input
    gives back what was sent, its field named, to be put right and sent again."""
    if not isinstance(exc, DomainError):  # registered for DomainError alone
        raise exc
    status = status_of(exc)
    if is_api(request):
        return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=status)
    if wants_fragment(request):
        return status_line(exc.message, status)
    if status == 422:
        said = f"{_label(exc.field)}: {exc.message}" if exc.field else exc.message
        return given_back(request, status, said, {}, await sent_form(request))
    return error_page(request, status, exc.message)


def _label(name: str) -> str:
    return str(_LABELS[name]) if name in _LABELS else name.replace("_", " ").capitalize()


def _typed(name: str, value: str) -> bool:
    """Whether a posted field is text the person typed (shown for copying), not a choice,
    a number or a key the form carries."""
    return bool(value.strip()) and not (
        name in _CARRIED or name.endswith("_key") or value.strip().isdecimal()
    )


def storage_fault_page(request: Request, fault: StorageFault) -> Response:
    """503 when the database cannot store (disk full, read-only, unreachable): what is stored
    is safe, and what the person sent is given back, with a button that sends it again."""
    log.error("storage fault on %s %s: %s", request.method, request.url.path, fault.kind)
    if fault.kind == "full":
        message = _(
            "The server's storage is full, so this was not saved. Everything saved before is "
            "safe. Please tell the organisers, and send it again in a few minutes."
        )
    elif fault.kind == "read-only":
        message = _(
            "The server's database is read-only at the moment, so this was not saved. "
            "Everything saved before is safe. Please tell the organisers, and send it again "
            "in a few minutes."
        )
    else:
        message = _(
            "The server cannot reach its database just now, so this was not saved. "
            "Everything saved before is safe. Please send it again in a moment."
        )
    wait = RETRY_AFTER_UNAVAILABLE if fault.kind == "unavailable" else RETRY_AFTER_FAULT
    form = getattr(request.state, "form", None)
    return given_back(request, 503, message, {"Retry-After": str(wait)}, form)


async def busy_page(request: Request) -> Response:
    """503 when every database connection stayed taken for as long as a request waits for
    one (OPENSPACE_DB_POOL_TIMEOUT_SECONDS): nothing was done, and what the person sent is
    given back to send again."""
    log.warning("no database connection came free for %s %s", request.method, request.url.path)
    message = _(
        "So many people are using OpenSpace at this moment that the server could not answer "
        "in time. Nothing was changed and nothing you sent is lost: please send it again "
        "in a moment."
    )
    headers = {"Retry-After": str(RETRY_AFTER_BUSY)}
    form = await sent_form(request)
    return given_back(request, 503, message, headers, form, title=_("Busy just now"))


async def sent_form(request: Request) -> FormData | None:
    """The form the person posted, if any: read here if the route had not read it yet (the
    request was refused before that, as a rate limit is)."""
    form = getattr(request.state, "form", None)
    if isinstance(form, FormData) or request.method != "POST":
        return form
    try:
        return await request.form()
    except (RuntimeError, ClientDisconnect, StarletteHTTPException):  # read already, or gone
        return None


def given_back(
    request: Request,
    status: int,
    message: str,
    headers: Mapping[str, str],
    form: FormData | None,
    title: str = "",
) -> Response:
    """A refusal of something sent that may work later (a pause, a database that cannot
    store): with htmx, the message in the status line and the form left as it is; as a
    page, what the person sent given back, with a button that sends it again."""
    if wants_fragment(request) and not is_api(request):
        return status_line(message, status, headers)
    kept: list[tuple[str, str, str, bool]] = []
    if request.method == "POST" and isinstance(form, FormData):
        kept = [
            (name, _label(name), str(value), _typed(name, str(value)))
            for name, value in form.multi_items()
            if isinstance(value, str) and name != "csrf_token"
        ]
    extra: dict[str, object] = {"kept": kept, "resend_to": request.url.path}
    if title:
        extra["title"] = title
    code = request.path_params.get("code")
    if isinstance(code, str) and request.url.path.startswith(f"/e/{code}"):
        extra["action"] = (f"/e/{code}", _("Back to the event"))
    page = error_page(request, status, message, extra)
    page.headers.update(headers)
    return page
