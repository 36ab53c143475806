"""Role boundaries: every organiser and facilitator route refuses everyone it is not for."""

import importlib
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.config import Settings
from app.models import Event, Role
from app.security import LinkSigner
from app.services import events as event_service
from app.web.facilitator import day as facilitator
from app.web.facilitator import outcomes as facilitator_outcomes
from app.web.organiser import (
    carry,
    dashboard,
    exports,
    how_it_went,
    later_mail,
    one_year_on,
    outbox,
    people,
    tracker,
)
from app.web.organiser import events as organiser
from tests.conftest import claim, csrf_token, log_in, post_form
from tests.factories import Factory

PROTECTED = [
    (method, route.path)
    for module in (
        organiser,
        tracker,
        facilitator,
        facilitator_outcomes,
        exports,
        # The months after, and people's data: every page in app/web/organiser/.
        carry,
        dashboard,
        how_it_went,
        later_mail,
        one_year_on,
        outbox,
        people,
    )
    for route in module.router.routes
    if isinstance(route, APIRoute) and not route.path.startswith("/f/")
    for method in sorted(route.methods)
]


def _url(path: str, event: Event) -> str:
    # Every id in a path points at something that exists, so a refusal is about the role.
    return re.sub(
        r"\{[a-z_]+\}", lambda m: str(event.id) if m.group() == "{event_id}" else "1", path
    )


def _visitors(
    client: TestClient, make: Factory, settings: Settings, event: Event
) -> dict[str, TestClient]:
    """Browsers of people who must not reach the event's organiser or facilitator pages."""
    app = client.app
    browsers = {
        name: TestClient(app, follow_redirects=False)
        for name in (  # type: ignore[arg-type]
            "anonymous",
            "participant",
            "projector",
            "other-organiser",
            "other-facilitator-link",
            "revoked-facilitator-link",
            "facilitator-account",
        )
    }
    post_form(browsers["participant"], f"/e/{event.join_code}/join", {"display_name": "Sam"})
    signer = LinkSigner(settings.secret_key)
    assert event.id is not None
    projector = browsers["projector"].get("/display/" + signer.sign("projector", event.id, 1))
    assert projector.status_code == 200
    other = make.organiser()
    other_event = make.event(other)
    log_in(browsers["other-organiser"], other.email)
    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, other_event, "other")
        revoked = event_service.create_facilitator_link(session, event, "revoked")
    assert (
        claim(
            browsers["other-facilitator-link"], "/f/" + signer.sign("facilitator", link.id or 0)
        ).status_code
        == 303
    )
    assert (
        claim(
            browsers["revoked-facilitator-link"],
            "/f/" + signer.sign("facilitator", revoked.id or 0),
        ).status_code
        == 303
    )
    with make.database.write() as session:
        event_service.revoke_facilitator_link(session, event, revoked.id or 0)
    facilitator_account = make.organiser()
    with make.database.write() as session:
        event_service.add_team_member(
            session, event, facilitator_account.email, "", Role.facilitator
        )
    log_in(browsers["facilitator-account"], facilitator_account.email)
    return browsers


@pytest.fixture
def setting(
    client: TestClient, make: Factory, settings: Settings
) -> tuple[Event, dict[str, TestClient]]:
    owner = make.organiser()
    event = make.event(owner, name="Secret planning day")
    make.space(event)
    return event, _visitors(client, make, settings, event)


def test_route_table_covers_organiser_and_facilitator_pages() -> None:
    paths = {path for _method, path in PROTECTED}
    assert "/organiser/events/{event_id}" in paths
    assert "/organiser/events/{event_id}/spaces" in paths
    assert "/facilitate/{event_id}" in paths
    assert "/facilitate/{event_id}/outcomes" in paths
    assert "/organiser/events/{event_id}/actions" in paths
    assert "/organiser/events/{event_id}/people/{participant_id}/erase" in paths
    assert "/organiser/events/{event_id}/outbox" in paths
    assert len(PROTECTED) > 20


def test_every_organiser_module_is_in_the_route_table() -> None:
    """A new module of organiser pages cannot be forgotten here."""
    folder = Path(organiser.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__"}
    listed = {path for _method, path in PROTECTED}
    for name in sorted(modules):
        routes = importlib.import_module(f"app.web.organiser.{name}").router.routes
        paths = {r.path for r in routes if isinstance(r, APIRoute)}
        assert paths <= listed, f"app/web/organiser/{name}.py is not in PROTECTED"


def test_every_protected_route_refuses_outsiders(
    setting: tuple[Event, dict[str, TestClient]],
) -> None:
    event, browsers = setting
    for who, browser in browsers.items():
        token = csrf_token(browser)
        has_account = who in {"other-organiser", "facilitator-account"}
        for method, path in PROTECTED:
            if has_account and "{event_id}" not in path:
                continue  # their own account: list of events, password, API tokens
            if who == "facilitator-account" and path.startswith(("/facilitate", "/events")):
                continue  # on this event's team as its facilitator
            url = _url(path, event)
            response = browser.request(
                method, url, data={"csrf_token": token} if method == "POST" else None
            )
            refused = response.status_code in (401, 403, 404) or (
                response.status_code == 303 and response.headers["location"].startswith("/login")
            )
            assert refused, f"{who} reached {method} {url}: {response.status_code}"
            assert "Secret planning day" not in response.text, f"{who} saw {method} {url}"


def test_facilitator_link_opens_facilitation_until_revoked(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    event = make.event(name="Linked day")
    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, event, "Amira")
    token = LinkSigner(settings.secret_key).sign("facilitator", link.id or 0)
    # Opening the link only asks; the button signs in.
    assert "Facilitate on this browser" in client.get(f"/f/{token}").text
    assert client.get(f"/facilitate/{event.id}").status_code == 303
    assert claim(client, f"/f/{token}").headers["location"] == f"/facilitate/{event.id}"
    assert "Linked day" in client.get(f"/facilitate/{event.id}").text
    # The link grants facilitation only, never the organiser's set-up.
    assert client.get(f"/organiser/events/{event.id}").status_code == 303
    with make.database.write() as session:
        event_service.revoke_facilitator_link(session, event, link.id or 0)
    assert client.get(f"/facilitate/{event.id}").status_code in (303, 403)
    again = client.get(f"/f/{token}")
    assert again.status_code == 403 and "does not work" in again.text


def test_projector_link_shows_event_without_login_and_can_be_replaced(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    owner = make.organiser()
    event = make.event(owner, theme_question="What will we do differently?")
    assert event.id is not None
    signer = LinkSigner(settings.secret_key)
    url = "/display/" + signer.sign("projector", event.id, event.projector_version)
    page = client.get(url)
    assert page.status_code == 200 and "What will we do differently?" in page.text
    assert "openspace=" not in page.headers.get("set-cookie", "")
    log_in(client, owner.email)
    post_form(client, f"/organiser/events/{event.id}/projector-link/renew", {})
    assert client.get(url).status_code == 404
    assert client.get("/display/not-a-token").status_code == 404


def test_cross_site_form_post_refused(client: TestClient, make: Factory) -> None:
    event = make.event()
    no_token = client.post(f"/e/{event.join_code}/join", data={"display_name": "Mallory"})
    assert no_token.status_code == 403
    assert "expired or was sent from another site" in no_token.text
    wrong_token = client.post(
        f"/e/{event.join_code}/join", data={"display_name": "Mallory", "csrf_token": "x" * 43}
    )
    assert wrong_token.status_code == 403
    foreign = client.post(
        f"/e/{event.join_code}/join",
        data={"display_name": "Mallory", "csrf_token": csrf_token(client)},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    same_site = client.post(
        f"/e/{event.join_code}/join",
        data={"display_name": "Sam", "csrf_token": csrf_token(client)},
        headers={"Origin": "http://testserver"},
    )
    assert same_site.status_code == 303


def test_htmx_request_carries_csrf_in_header(client: TestClient, make: Factory) -> None:
    owner = make.organiser()
    event = make.event(owner)
    log_in(client, owner.email)
    response = client.post(
        f"/organiser/events/{event.id}/spaces",
        data={"name": "Hall", "capacity": "50"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_token(client)},
    )
    assert response.status_code == 200 and "Hall" in response.text


def test_facilitator_pages_lead_an_organiser_back_to_the_set_up(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    assert f'href="/organiser/events/{event.id}"' in client.get(f"/facilitate/{event.id}").text
    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, event, "Desk")
    with TestClient(client.app, follow_redirects=False) as desk:  # type: ignore[arg-type]
        claim(desk, "/f/" + LinkSigner(settings.secret_key).sign("facilitator", link.id or 0))
        page = desk.get(f"/facilitate/{event.id}")
        assert page.status_code == 200
        assert f'href="/organiser/events/{event.id}"' not in page.text
