"""Who a browser is: the signed identity cookie, and keeping an organiser's sign-in fresh.

The cookie says which organiser (with the session generation it signed in under), which
participant in each event, and which facilitator links this browser holds. It is signed with
the installation's key and carries when it was signed: the participant part lasts for the
day and long after (phones rejoin nothing), the organiser part ends after an idle time, and
any bump of the account's generation (log-out, "sign out everywhere", a new password) ends
every copy of it at once.
"""

import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.models import Participant
from app.web.kit.common import IDENTITY_COOKIE

# An organiser's cookie is signed again, with a new time, when it is older than this: being
# active keeps a sign-in alive; only idleness ends it.
REFRESH_AFTER_SECONDS = 300
REFRESH_STATE = "identity_refresh"


@dataclass
class Visitor:
    """Who the browser says it is: an organiser, a participant per event, facilitator links."""

    organiser_id: int | None = None
    organiser_generation: int = 0
    participants: dict[str, list[int]] = field(default_factory=dict)
    facilitator_links: dict[str, int] = field(default_factory=dict)

    def as_participant(self, participant: Participant) -> None:
        """This browser now acts as the participant in their event."""
        assert participant.id is not None
        self.participants[str(participant.event_id)] = [participant.id, participant.link_version]

    def as_organiser(self, organiser_id: int | None, generation: int) -> None:
        """This browser is now signed in as the organiser, under the account's generation."""
        self.organiser_id = organiser_id
        self.organiser_generation = generation

    def dump(self) -> dict[str, Any]:
        return {
            "o": self.organiser_id,
            "g": self.organiser_generation,
            "p": self.participants,
            "f": self.facilitator_links,
        }


@functools.cache
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="openspace.identity")


@functools.lru_cache(maxsize=8192)
def _identity(secret_key: str, raw: str) -> tuple[str, float] | None:
    """What a signed identity cookie holds (as JSON) and when it was signed, or None if the
    signature does not hold. A browser sends the same cookie with every tap, and checking
    the signature cost more than the rest of reading it."""
    try:
        data, signed = _serializer(secret_key).loads(raw, return_timestamp=True)
    except BadSignature:
        return None
    return json.dumps(data), signed.timestamp()


def read_visitor(settings: Settings, raw: str | None) -> tuple[Visitor, float]:
    """The visitor a cookie names, and how many seconds ago it was signed."""
    found = _identity(settings.secret_key, raw) if raw else None
    if found is None:
        return Visitor(), 0.0
    age = time.time() - found[1]
    if not 0 <= age <= settings.session_max_age_days * 86400:
        return Visitor(), 0.0
    try:
        data = json.loads(found[0])
        visitor = Visitor(
            organiser_id=data.get("o"),
            organiser_generation=int(data.get("g") or 0),
            participants=dict(data.get("p") or {}),
            facilitator_links=dict(data.get("f") or {}),
        )
    except (AttributeError, TypeError, ValueError):
        return Visitor(), 0.0
    if visitor.organiser_id is not None and age > settings.organiser_idle_hours * 3600:
        visitor.as_organiser(None, 0)
    return visitor, age


def remember(response: Response, visitor: Visitor, settings: Settings) -> None:
    """Store who the visitor is in the signed, HttpOnly identity cookie."""
    response.set_cookie(
        IDENTITY_COOKIE,
        _serializer(settings.secret_key).dumps(visitor.dump()),
        max_age=settings.session_max_age_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


class IdentityRefreshMiddleware:
    """Signs an active organiser's cookie again (see REFRESH_AFTER_SECONDS), unless the
    response sets the cookie itself."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_refreshed(message: Message) -> None:
            visitor = scope.get("state", {}).get(REFRESH_STATE)
            if message["type"] == "http.response.start" and visitor is not None:
                headers = MutableHeaders(scope=message)
                sets = headers.getlist("set-cookie")
                if not any(value.startswith(IDENTITY_COOKIE + "=") for value in sets):
                    carrier = Response()
                    remember(carrier, visitor, self.settings)
                    headers.append("set-cookie", carrier.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_refreshed)
