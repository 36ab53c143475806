"""A form whose CSRF token is refused never loses what was typed.

The token lives in a cookie that lasts as long as a sign-in (a phone closed at lunch keeps
it). When it is refused anyway — a page kept from before the cookie was renewed, or a
cookie cleared — the person gets back what they sent, with a fresh token, and sends it again
with one button; with htmx the form stays as it is and takes the fresh token. A request
that says it comes from another site is refused plainly, never shown back as if it were
the person's own.
"""

import json

from fastapi import HTTPException, Request
from fastapi.responses import Response

from app.i18n import _, lazy
from app.templating import wants_fragment
from app.web.kit.errors import error_page, given_back, is_api, sent_form, status_line

REFUSED = lazy("This form has expired or was sent from another site, so nothing was saved.")
# htmx hears of the fresh token in this event (static/js/app.js puts it in every form).
TOKEN_EVENT = "openspace:csrf-token"


class TokenRefused(HTTPException):
    """The form did not carry this browser's current CSRF token."""

    def __init__(self) -> None:
        super().__init__(403, str(REFUSED))


async def token_refused(request: Request, exc: Exception) -> Response:
    """The form given back with a fresh token (403); plainly refused if from another site."""
    if is_api(request) or request.headers.get("sec-fetch-site") == "cross-site":
        plainly = _(
            "This form has expired or was sent from another site. "
            "Please go back, reload the page and try again."
        )
        return error_page(request, 403, plainly)
    if wants_fragment(request):
        # 422: htmx swaps it into the status line (a 403 it would drop), the form stays.
        token = json.dumps({TOKEN_EVENT: request.state.csrf_token})
        return status_line(
            _("This page had expired, so nothing was saved. Please send it again."),
            422,
            {"HX-Trigger": token},
        )
    form = await sent_form(request)
    return given_back(request, 403, str(REFUSED), {}, form, title=_("Please send it again"))
