"""The JSON API: organiser tokens, events, spaces and slots, actions and every export, all in
the OpenAPI schema."""

import io

from docx import Document
from fastapi.testclient import TestClient

from app.db import Database
from app.models import Event, Organiser, Topic
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


def test_openapi_schema_lists_every_api_route(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paths = {path for path in schema["paths"] if path.startswith("/api/")}
    assert paths == {
        "/api/v1/events",
        "/api/v1/events/{event_id}",
        "/api/v1/events/{event_id}/spaces",
        "/api/v1/events/{event_id}/spaces/{space_id}",
        "/api/v1/events/{event_id}/slots",
        "/api/v1/events/{event_id}/slots/{slot_id}",
        "/api/v1/events/{event_id}/actions",
        "/api/v1/events/{event_id}/export/{fmt}",
    }
    assert "bearer" in str(schema["components"]["securitySchemes"]).lower()
    assert client.get("/api/docs").status_code == 200


def test_openapi_schema_documents_the_pages_and_every_refusal(client: TestClient) -> None:
    """The pages are in the document too, with their forms and answers (see app/web/api/schema.py),
    and the API says how it refuses."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    join = paths["/e/{code}/join"]["post"]
    assert join["tags"] == ["pages"]
    form = join["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert {"csrf_token", "display_name", "email", "next"} <= set(form["properties"])
    assert form["properties"]["display_name"]["maxLength"] == 80
    assert form["required"] == ["display_name"]
    statuses = {"200", "303", "403", "404", "409", "413", "422", "429", "503"}
    assert set(join["responses"]) == statuses
    assert "text/html" in join["responses"]["422"]["content"]
    # Logging out ends the account's sign-ins in the database, so a store fault may refuse it.
    assert {"303", "403", "413", "503"} <= set(paths["/logout"]["post"]["responses"])
    assert "304" in paths["/e/{code}/wall"]["get"]["responses"]
    assert "text/event-stream" in paths["/e/{code}/live"]["get"]["responses"]["200"]["content"]
    assert "text/calendar" in paths["/e/{code}/agenda.ics"]["get"]["responses"]["200"]["content"]
    assert {p["name"] for p in paths["/events/{event_id}/proceedings"]["get"]["parameters"]} == {
        "event_id",
        "personal",
    }
    add_space = paths["/api/v1/events/{event_id}/spaces"]["post"]["responses"]
    assert set(add_space) == {"201", "400", "401", "403", "404", "409", "413", "422", "503"}
    refusal = add_space["409"]["content"]["application/json"]["schema"]
    assert refusal == {"$ref": "#/components/schemas/Refusal"}
    read = paths["/api/v1/events/{event_id}"]["get"]["responses"]
    assert set(read) == {"200", "401", "404", "422", "503"}


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
