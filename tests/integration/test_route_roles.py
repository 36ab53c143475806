"""Every route × every role, generated from the app's routes, with the answer each role gets.

The expected answer comes from the route's audience (its address), so a new route is in the
table the moment it exists: if its audience is not one of those below, the test fails and
asks for it to be placed. Roles: anonymous, a participant of this event, a participant of
another event, the projector link, a facilitator link, an organiser of another event, and
this event's organiser. Every GET is sent by every role. A POST is sent by every role that
must be refused (with a valid CSRF token and an empty form); the roles allowed to post are
not sent one here, since the post would act (close the event, log out…) — the feature tests
post them.

Every route with an id in its address is also sent, by each role it is for (the JSON API's by
the organiser's API token), with an id that is not there: each answers 404.
"""

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.models import Event
from app.security import LinkSigner
from app.services import accounts
from app.services import events as event_service
from tests.conftest import claim, csrf_token, log_in, post_form
from tests.factories import Factory
from tests.routes import all_routes

ROLES = (
    "anonymous",
    "participant",
    "other-participant",
    "projector",
    "facilitator",
    "other-organiser",
    "organiser",
)
EVERYONE = frozenset(ROLES)
STREAMS = {"/e/{code}/live", "/display/{token}/live"}
# Pages for anyone, and links that are capabilities in themselves (whoever holds the link).
PUBLIC = {
    "/",
    "/join",
    "/login",
    "/logout",
    "/language",
    "/offline",
    "/sw.js",
    "/healthz",
    "/readyz",
    "/static",
    "/j/{code}",
    "/display/{token}",
    "/display/{token}/live",
    "/f/{token}",
    "/a/{token}",
    "/mail/{token}",  # a person's e-mail choices, by the signed link in each message
    "/mail/stop/{token}",
    "/mail/{token}/book",  # the book, by the link in the message saying it is ready
    "/mail/digest/{token}",  # an organiser stops the weekly digest, by its link
    "/p/{token}",  # a pledge's "how did it go?", by the link in its postcard
    "/invite/{token}",  # joining a team, by the link in the invitation
    "/password/forgot",
    "/password/new/{token}",  # a new password, by the link in the reset message
    "/e/{code}/join",
    "/e/{code}/qr.svg",  # the join QR code, shown on the join page
    "/e/{code}/continue/{token}",
    "/e/{code}/privacy",  # the privacy notice, read before joining
    "/e/{code}/erased",  # said to someone whose data is gone: they are nobody now
    "/api/docs",
    "/api/docs/oauth2-redirect",
    "/docs/oauth2-redirect",
    "/api/v1/openapi.json",
}


def audience(path: str) -> frozenset[str]:
    """Who may use a route, from where it lives."""
    if path in PUBLIC or path.startswith("/a/{token}"):
        return EVERYONE
    if path.startswith("/api/"):
        return frozenset()  # an API token, never a browser's cookies
    if path.startswith("/e/{code}"):
        return frozenset({"participant"})
    if path.startswith(("/facilitate/{event_id}", "/events/{event_id}")):
        return frozenset({"facilitator", "organiser"})
    if path.startswith("/organiser/events/{event_id}"):
        return frozenset({"organiser"})
    if path.startswith("/organiser"):  # their own account and events
        return frozenset({"organiser", "other-organiser"})
    raise AssertionError(f"{path}: which audience is this route for? Add it to the table.")


def refused(path: str, status: int, location: str) -> bool:
    """Turned away: not allowed, sent to log in or to join, or a stream for no one."""
    if status in (401, 403):
        return True
    if status in (302, 303, 307) and (
        location.startswith("/login") or re.match(r"^/e/[^/]+/join", location)
    ):
        return True
    return status == 204 and path.endswith("/live")


def _url(path: str, event: Event, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if path in ids:
            return ids[path]
        if name == "event_id":
            return str(event.id)
        if name == "code":
            return event.join_code
        return ids.get(name, "1")

    return re.sub(r"\{([a-z_]+)\}", value, path)


@pytest.fixture
def browsers(
    app: FastAPI, make: Factory, settings: Settings
) -> tuple[Event, dict[str, TestClient], dict[str, str]]:
    owner = make.organiser()
    event = make.event(owner, name="Secret planning day")
    make.space(event)
    other_event = make.event(make.organiser(), name="Another day")
    signer = LinkSigner(settings.secret_key)
    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, event, "Laptop")
    clients = {role: TestClient(app, follow_redirects=False) for role in ROLES}
    post_form(clients["participant"], f"/e/{event.join_code}/join", {"display_name": "Sam"})
    post_form(
        clients["other-participant"], f"/e/{other_event.join_code}/join", {"display_name": "Al"}
    )
    projector_token = signer.sign("projector", event.id or 0, 1)
    assert clients["projector"].get(f"/display/{projector_token}").status_code == 200
    assert (
        claim(clients["facilitator"], f"/f/{signer.sign('facilitator', link.id or 0)}").status_code
        == 303
    )
    log_in(clients["other-organiser"], make.organiser().email)
    log_in(clients["organiser"], owner.email)
    with make.database.write() as session:
        _row, secret = accounts.create_api_token(session, owner, "script")
    clients["api"] = TestClient(
        app, follow_redirects=False, headers={"Authorization": f"Bearer {secret}"}
    )
    with make.database.write() as session:  # a link anyone may hold, to another event
        elsewhere_link = event_service.create_facilitator_link(session, other_event, "Theirs")
    ids = {
        "token": projector_token,
        "fmt": "csv",
        "/f/{token}": signer.sign("facilitator", elsewhere_link.id or 0),
    }
    return event, clients, ids


def test_every_route_answers_each_role_as_the_table_says(
    app: FastAPI, browsers: tuple[Event, dict[str, TestClient], dict[str, str]]
) -> None:
    event, clients, ids = browsers
    routes = sorted(all_routes(app))
    assert len(routes) > 120
    wrong, sent = [], 0
    for method, path in routes:
        allowed = audience(path)
        for role in ROLES:
            if method != "GET" and role in allowed:
                continue  # it would act; the feature tests post these
            if path in STREAMS and role in allowed:
                continue  # it never ends; tests/integration/test_live.py reads these
            client = clients[role]
            url = _url(path, event, ids)
            data = {"csrf_token": csrf_token(client)} if method != "GET" else None
            answer = client.request(method, url, data=data)
            sent += 1
            was_refused = refused(path, answer.status_code, answer.headers.get("location", ""))
            # Allowed: never turned away (a made-up id may still be not found). Not allowed:
            # turned away, or told there is nothing for them (404).
            ok = not was_refused if role in allowed else was_refused or answer.status_code == 404
            if not ok:
                wrong.append(f"{role:17} {method:6} {url}: {answer.status_code}")
            if role not in allowed and method == "GET" and path.startswith("/organiser/events"):
                assert "Secret planning day" not in answer.text, f"{role} saw {url}"
    print(f"{len(routes)} routes × {len(ROLES)} roles: {sent} requests sent")
    assert not wrong, "answers not as the table says:\n" + "\n".join(wrong)


MISSING = "999999"
# The parts of an address that are not ids, where a route takes only some words: each of
# them is sent. A new route with a part not listed here fails the test until it is added.
WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "/e/{code}/topics/{topic_id}/{action}": {
        "action": ("sign-up", "leave", "waitlist", "leave-waitlist")
    },
    "/e/{code}/vote/{kind}/{target_id}/{move}": {
        "kind": ("report", "action"),
        "move": ("place", "take"),
    },
    "/facilitate/{event_id}/{kind}/{row_id}/hide": {"kind": ("contributions", "actions")},
    "/facilitate/{event_id}/pitches/{action}": {"action": ("next",)},
}
ANY_WORD = {"code": "", "fmt": "csv"}  # the event's join code; any export's format
# What a page's form must hold before its route looks the id up (a form it refuses as
# incomplete is answered first): what the page sends.
FORMS = {
    "/e/{code}/contributions/{contribution_id}/edit": {"body": "A note", "version": "1"},
    "/organiser/events/{event_id}/spaces/{space_id}": {"name": "Garden", "capacity": "20"},
}
# Routes that look nothing up, and why an id that is not there is no error for them.
LOOK_NOTHING_UP = {
    "/e/{code}/announcements/{announcement_id}/hide": "only this browser's cookie keeps it",
}
# What the JSON API's writes need in their body to get as far as looking the id up.
API_BODIES = {
    ("PUT", "/api/v1/events/{event_id}"): {
        "name": "Day",
        "starts_on": "2026-06-21",
        "timezone": "Europe/London",
    },
    ("POST", "/api/v1/events/{event_id}/spaces"): {"name": "Garden", "capacity": 20},
    ("PUT", "/api/v1/events/{event_id}/spaces/{space_id}"): {"name": "Garden", "capacity": 20},
    ("POST", "/api/v1/events/{event_id}/slots"): {
        "starts_at": "2026-06-21T10:45:00",
        "ends_at": "2026-06-21T11:45:00",
    },
}


def _ids(path: str) -> list[str]:
    return [name for name in re.findall(r"\{([a-z_]+)\}", path) if name.endswith("_id")]


def _missing_urls(path: str, event: Event) -> list[str]:
    """The route's address with each of its ids missing in turn, for each word it takes."""
    words = WORDS.get(path, {})
    choices: list[dict[str, str]] = [{}]
    for name in re.findall(r"\{([a-z_]+)\}", path):
        given: tuple[str, ...]
        if name.endswith("_id"):
            continue
        if name in ANY_WORD:
            given = (ANY_WORD[name] or event.join_code,)
        elif name in words:
            given = words[name]
        else:
            raise AssertionError(f"{path}: which words does {{{name}}} take? Add it to WORDS.")
        choices = [{**chosen, name: word} for chosen in choices for word in given]
    return [
        _fill(path, {**chosen, "event_id": str(event.id), missing: MISSING})
        for missing in _ids(path)
        for chosen in choices
    ]


def _fill(path: str, values: dict[str, str]) -> str:
    """The address with these values in it, and every other id made up (the event's is the
    only one a route needs to be there)."""
    return re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), MISSING), path)


def test_every_route_with_an_id_answers_not_found_for_one_that_is_not_there(
    app: FastAPI,
    make: Factory,
    browsers: tuple[Event, dict[str, TestClient], dict[str, str]],
) -> None:
    """A made-up id (a topic, a room, a report… or the event), sent by each person the route
    is for: 404, never 409 (a refusal), 500 or a page."""
    event, clients, _ = browsers
    with make.database.write() as session:  # open, so a sign-up goes as far as it can
        session.get_one(Event, event.id).marketplace_open = True
    routes = [
        (method, path)
        for method, path in sorted(all_routes(app))
        if _ids(path) and path not in LOOK_NOTHING_UP
    ]
    assert len(routes) > 80
    wrong, sent = [], 0
    for method, path in routes:
        askers = ["api"] if path.startswith("/api/") else sorted(audience(path) - {"anonymous"})
        assert askers, f"{path}: who may use it? Add it to the table."
        for url in _missing_urls(path, event):
            for asker in askers:
                client = clients[asker]
                if asker == "api":
                    answer = client.request(method, url, json=API_BODIES.get((method, path)))
                elif method == "GET":
                    answer = client.get(url)
                else:
                    form = {**FORMS.get(path, {}), "csrf_token": csrf_token(client)}
                    answer = client.request(method, url, data=form)
                sent += 1
                if answer.status_code != 404:
                    wrong.append(f"{asker:15} {method:6} {url}: {answer.status_code}")
    print(f"{len(routes)} routes with ids: {sent} requests with an id that is not there")
    assert not wrong, "not answered 404:\n" + "\n".join(wrong)
