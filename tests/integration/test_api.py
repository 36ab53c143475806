"""The JSON API: organiser tokens, events, spaces and slots, actions and every export, all in
the OpenAPI schema, which states the rules the server keeps; and its documentation page."""

import io
import re
from datetime import date, timedelta
from zoneinfo import available_timezones

from docx import Document
from fastapi.testclient import TestClient

from app.db import Database
from app.models import Event, Organiser, Topic
from app.models.event import DAY_TEXT, FIRST_DAY, LAST_DAY, MEANT_TEXT, MOMENT_TEXT, as_typed
from app.services import accounts
from app.web.organiser.exports import EVENT_FORMATS, MEDIA
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory


def _token(make: Factory, organiser: Organiser) -> dict[str, str]:
    with make.database.write() as session:
        _row, secret = accounts.create_api_token(session, organiser, "script")
    return {"Authorization": f"Bearer {secret}"}


def test_api_without_token_refused(client: TestClient) -> None:
    response = client.get("/api/v1/events")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/v1/events", json={}).status_code == 401
    bad = client.get("/api/v1/events", headers={"Authorization": "Bearer os_nope"})
    assert bad.status_code == 401


def test_api_creates_event_with_spaces_and_slots(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    auth = _token(make, organiser)
    created = client.post(
        "/api/v1/events",
        json={
            "name": "Academy one year on",
            "starts_on": "2026-06-21",
            "timezone": "Europe/London",
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    event = created.json()
    assert len(event["join_code"]) == 8
    space = client.post(
        f"/api/v1/events/{event['id']}/spaces",
        json={"name": "Garden", "capacity": 20, "access_notes": "Outdoors"},
        headers=auth,
    )
    assert space.status_code == 201
    slot = client.post(
        f"/api/v1/events/{event['id']}/slots",
        json={"starts_at": "2026-06-21T10:45:00", "ends_at": "2026-06-21T11:45:00"},
        headers=auth,
    )
    assert slot.status_code == 201, slot.text
    assert slot.json()["starts_at"].startswith("2026-06-21T09:45:00")  # venue time → UTC
    listed = client.get(f"/api/v1/events/{event['id']}/spaces", headers=auth).json()
    assert [s["name"] for s in listed] == ["Garden"]
    assert [e["name"] for e in client.get("/api/v1/events", headers=auth).json()] == [
        "Academy one year on"
    ]
    renamed = client.put(
        f"/api/v1/events/{event['id']}/spaces/{space.json()['id']}",
        json={"name": "Walled garden", "capacity": 25},
        headers=auth,
    )
    assert renamed.json()["name"] == "Walled garden"
    assert (
        client.delete(
            f"/api/v1/events/{event['id']}/slots/{slot.json()['id']}", headers=auth
        ).status_code
        == 204
    )
    assert client.get(f"/api/v1/events/{event['id']}/slots", headers=auth).json() == []


def test_api_bad_input_gets_422_with_the_field(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    auth = _token(make, organiser)
    response = client.post(
        f"/api/v1/events/{event.id}/spaces", json={"name": "", "capacity": -3}, headers=auth
    )
    assert response.status_code == 422
    fields = {error["loc"][-1] for error in response.json()["detail"]}
    assert fields == {"name", "capacity"}
    duplicate = {"name": "Hall", "capacity": 3}
    client.post(f"/api/v1/events/{event.id}/spaces", json=duplicate, headers=auth)
    again = client.post(f"/api/v1/events/{event.id}/spaces", json=duplicate, headers=auth)
    assert again.status_code == 409 and again.json()["field"] == "name"


def test_api_token_sees_only_its_organisers_events(client: TestClient, make: Factory) -> None:
    mine, theirs = make.organiser(), make.organiser()
    their_event = make.event(theirs)
    auth = _token(make, mine)
    assert client.get(f"/api/v1/events/{their_event.id}", headers=auth).status_code == 404
    assert (
        client.post(
            f"/api/v1/events/{their_event.id}/spaces",
            json={"name": "X", "capacity": 2},
            headers=auth,
        ).status_code
        == 404
    )


def test_api_token_made_on_account_page_works_until_revoked(
    client: TestClient, make: Factory, database: Database
) -> None:
    organiser = make.organiser()
    log_in(client, organiser.email)
    page = post_form(client, "/organiser/account/tokens", {"name": "Import"})
    assert page.status_code == 200
    secret = page.text.split('value="os_')[1].split('"')[0]
    auth = {"Authorization": f"Bearer os_{secret}"}
    assert client.get("/api/v1/events", headers=auth).status_code == 200
    assert "Import" in text_of(client.get("/organiser/account").text)
    assert "os_" + secret not in client.get("/organiser/account").text  # shown once only
    with database.read() as session:
        token_id = accounts.api_tokens(session, organiser)[0].id
    post_form(client, f"/organiser/account/tokens/{token_id}/revoke", {})
    assert client.get("/api/v1/events", headers=auth).status_code == 401


def test_openapi_schema_lists_the_api_alone(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/v1/events",
        "/api/v1/events/{event_id}",
        "/api/v1/events/{event_id}/spaces",
        "/api/v1/events/{event_id}/spaces/{space_id}",
        "/api/v1/events/{event_id}/slots",
        "/api/v1/events/{event_id}/slots/{slot_id}",
        "/api/v1/events/{event_id}/actions",
        "/api/v1/events/{event_id}/export/{fmt}",
    }
    assert [tag["name"] for tag in schema["tags"]] == ["api"]
    assert "bearer" in str(schema["components"]["securitySchemes"]).lower()


def test_openapi_schema_documents_every_refusal(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    add_space = paths["/api/v1/events/{event_id}/spaces"]["post"]["responses"]
    assert set(add_space) == {"201", "400", "401", "403", "404", "409", "413", "422", "503"}
    refusal = add_space["409"]["content"]["application/json"]["schema"]
    assert refusal == {"$ref": "#/components/schemas/Refusal"}
    read = paths["/api/v1/events/{event_id}"]["get"]["responses"]
    assert set(read) == {"200", "401", "404", "422", "503"}


def test_openapi_schema_states_the_rules_the_server_keeps(client: TestClient) -> None:
    """What a field takes is in the document: a script (or a fuzzer) learns the rules there."""
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    event = schemas["EventCreate"]["properties"]
    assert set(event["timezone"]["enum"]) == available_timezones()
    assert re.search(event["languages"]["pattern"], "en,pl")
    assert not re.search(event["languages"]["pattern"], "en,de")
    assert re.search(event["name"]["pattern"], " Łódź ")
    assert not re.search(event["name"]["pattern"], " \t\u3000")
    assert event["starts_on"]["pattern"] == f"^{DAY_TEXT}$"
    slot = schemas["SlotCreate"]
    assert slot["properties"]["starts_at"]["pattern"] == f"^{MOMENT_TEXT}$"
    assert "after starts_at" in slot["properties"]["ends_at"]["description"]
    assert len(slot["anyOf"]) == 2  # both times with a UTC offset, or neither


def test_the_day_pattern_is_the_calendar_between_the_first_and_last_day() -> None:
    days = [FIRST_DAY - timedelta(days=3), LAST_DAY - timedelta(days=3)]
    days += [date(year, 2, 26) for year in (1900, 1904, 2000, 2023, 2024, 2100, 2400)]
    for first in days:
        for day in (first + timedelta(days=n) for n in range(6)):
            written = day.isoformat()
            assert bool(re.fullmatch(DAY_TEXT, written)) == (FIRST_DAY <= day <= LAST_DAY), day
    for not_a_day in ("2023-02-29", "2100-02-29", "2026-04-31", "2026-13-01", "3000-01-01"):
        assert not re.fullmatch(DAY_TEXT, not_a_day)
    for moment in ("2026-06-21T10:45", "2026-06-21 10:45:30.5", "2026-06-21t10:45Z"):
        assert re.fullmatch(MOMENT_TEXT, moment + "+01:00" * (not moment.endswith("Z")))
        assert re.fullmatch(MOMENT_TEXT, moment)
    assert not re.fullmatch(MOMENT_TEXT, "2026-06-21T24:00")


def test_the_meant_text_pattern_is_what_a_form_keeps() -> None:
    """A character matches it when cleaning a form (Form) leaves it: every one in the BMP."""
    pattern = re.compile(MEANT_TEXT)
    for code in range(0x10000):
        character = chr(code)
        if 0xD800 <= code <= 0xDFFF:  # halves of a pair, never a character of their own
            continue
        assert bool(pattern.fullmatch(character)) == bool(as_typed(character).strip()), hex(code)


def test_api_refuses_a_slot_that_ends_before_it_starts(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    auth = _token(make, organiser)
    backwards = {"starts_at": "2026-06-21T11:00:00", "ends_at": "2026-06-21T10:00:00"}
    response = client.post(f"/api/v1/events/{event.id}/slots", json=backwards, headers=auth)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "ends_at"]
    assert error["msg"].endswith("The slot must end after it starts.")
    mixed = {"starts_at": "2026-06-21T10:00:00Z", "ends_at": "2026-06-21T11:00:00"}
    response = client.post(f"/api/v1/events/{event.id}/slots", json=mixed, headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].endswith("with a UTC offset, or neither.")


def test_api_takes_dates_as_written_not_as_seconds(client: TestClient, make: Factory) -> None:
    """pydantic alone would read 0, or "0", as 1 January 1970."""
    auth = _token(make, make.organiser())
    for starts_on in (0, "0", "1654646400", "2026-06-21T00:00:00", "1899-12-31"):
        event = {"name": "Seconds", "starts_on": starts_on, "timezone": "Europe/London"}
        response = client.post("/api/v1/events", json=event, headers=auth)
        assert response.status_code == 422, starts_on
        assert response.json()["detail"][0]["loc"] == ["body", "starts_on"]
    zone = {"name": "Zone", "starts_on": "2026-06-21", "timezone": "Europe/Atlantis"}
    response = client.post("/api/v1/events", json=zone, headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "timezone"]


def test_api_takes_a_number_of_seats_as_a_number(client: TestClient, make: Factory) -> None:
    """The set-up page's form sends "12" as text; a script sends a JSON number."""
    organiser = make.organiser()
    event = make.event(organiser)
    auth = _token(make, organiser)
    for capacity in ("12", True):
        space = {"name": "Hall", "capacity": capacity}
        response = client.post(f"/api/v1/events/{event.id}/spaces", json=space, headers=auth)
        assert response.status_code == 422, capacity
        assert response.json()["detail"][0]["loc"] == ["body", "capacity"]
    space = {"name": "Hall", "capacity": 12}
    added = client.post(f"/api/v1/events/{event.id}/spaces", json=space, headers=auth)
    assert added.status_code == 201 and added.json()["capacity"] == 12


def test_a_405_names_every_method_the_address_takes(client: TestClient, make: Factory) -> None:
    """Starlette named those of the first route at the address only (GET, for /events)."""
    auth = _token(make, make.organiser())
    for method, path, allowed in (
        ("PATCH", "/api/v1/events", "GET, POST"),
        ("OPTIONS", "/api/v1/events/1", "GET, PUT"),
        ("GET", "/api/v1/events/1/spaces/1", "DELETE, PUT"),
        ("PUT", "/login", "GET, POST"),
    ):
        response = client.request(method, path, headers=auth)
        assert response.status_code == 405, path
        assert response.headers["allow"] == allowed, path


def test_api_docs_come_from_our_own_files_under_the_policy(client: TestClient) -> None:
    """No CDN: Swagger UI from static/vendor, started by a file of ours, not an inline script."""
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert '<html lang="en"' in page.text
    scripts = re.findall(r"<script\b[^>]*>", page.text)
    sources = [re.search(r'src="([^"]+)"', script) for script in scripts]
    assert all(sources) and len(sources) == 2
    for source in sources:
        assert source is not None and source[1].startswith("/static/")
        assert client.get(source[1]).status_code == 200
    assert re.search(r'href="(/static/vendor/swagger-ui-[^"]+\.css)"', page.text)
    assert "https://" not in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "https:" not in policy
    assert client.get("/docs/oauth2-redirect").status_code == 404  # FastAPI's, for OAuth2


def test_api_gives_the_action_list_and_every_export(
    client: TestClient, make: Factory, exported: tuple[Organiser, Event, Topic, Topic]
) -> None:
    organiser, event, first, _ = exported
    auth = _token(make, organiser)
    actions = client.get(f"/api/v1/events/{event.id}/actions", headers=auth).json()["actions"]
    assert [a["action"] for a in actions][:2] == ["Free bus passes for carers", "اردو میں معلومات"]
    assert actions[0]["owner_email"] == "zazolc@example.pl" and actions[0]["due"] == "2027-09-01"
    done = client.get(
        f"/api/v1/events/{event.id}/actions",
        params={"status": "done", "personal": "false"},
        headers=auth,
    ).json()["actions"]
    assert [(a["action"], a["owner"]) for a in done] == [("اردو میں معلومات", "")]
    in_session = client.get(
        f"/api/v1/events/{event.id}/actions", params={"session": first.id}, headers=auth
    ).json()["actions"]
    assert {a["session"] for a in in_session} == {"Transport"}
    schema = client.get("/api/v1/openapi.json").json()
    [parameter] = [
        p
        for p in schema["paths"]["/api/v1/events/{event_id}/export/{fmt}"]["get"]["parameters"]
        if p["name"] == "fmt"
    ]
    assert set(parameter["schema"]["enum"]) == set(EVENT_FORMATS)
    for fmt in EVENT_FORMATS:
        response = client.get(f"/api/v1/events/{event.id}/export/{fmt}", headers=auth)
        assert response.status_code == 200, (fmt, response.text)
        assert response.headers["content-type"].startswith(MEDIA[fmt].split(";")[0])
    book = client.get(f"/api/v1/events/{event.id}/export/docx", headers=auth).content
    assert Document(io.BytesIO(book)).paragraphs[0].text == "Łódź — اردو day"
    assert client.get(f"/api/v1/events/{event.id}/export/pdf", headers=auth).status_code == 422
    stranger = _token(make, make.organiser())
    assert client.get(f"/api/v1/events/{event.id}/export/csv", headers=stranger).status_code == 404
