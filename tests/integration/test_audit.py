"""The audit log: who on the team changed or downloaded what, and when; nothing else."""

from datetime import time

from fastapi.testclient import TestClient

from app.config import Settings
from app.models import AuditEntry
from app.security import LinkSigner
from app.services import accounts
from app.services import events as event_service
from tests.conftest import claim, log_in, post_form, text_of
from tests.factories import Factory, count, placed_topic


def test_changes_and_downloads_are_logged_with_who_and_what(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    organiser = make.organiser("olu@example.org", name="Olu Organiser")
    event = make.event(organiser)
    slot = make.slot(event, time(10), time(11))
    topic = placed_topic(make, event, slot, make.space(event, "Garden", 5), "Allotments")
    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, event, "Front desk laptop")
    laptop = TestClient(client.app)
    claim(laptop, f"/f/{LinkSigner(settings.secret_key).sign('facilitator', link.id or 0)}")

    hidden = post_form(laptop, f"/facilitate/{event.id}/topics/{topic.id}/hide", {"hidden": "1"})
    assert hidden.status_code < 400  # type: ignore[attr-defined]
    log_in(client, organiser.email)
    refused = post_form(
        client, f"/organiser/events/{event.id}/spaces", {"name": "", "capacity": "x"}
    )
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert client.get(f"/events/{event.id}/export/actions.csv").status_code == 200
    outsider = TestClient(client.app)
    post_form(outsider, f"/facilitate/{event.id}/topics/{topic.id}/hide", {"hidden": "0"})

    assert count(make.database, AuditEntry) == 2  # the refused and the outsider's: no entry
    page = text_of(client.get(f"/organiser/events/{event.id}/audit").text)
    assert "facilitator link “Front desk laptop”" in page
    assert "POST /facilitate/{event_id}/topics/{topic_id}/hide" in page
    assert f"topic_id={topic.id}" in page and "hidden='1'" in page
    assert "Olu Organiser <olu@example.org>" in page
    assert "GET /events/{event_id}/export/actions.{fmt}" in page and "fmt=csv" in page
    assert "csrf_token" not in page
    # Newest first.
    assert page.index("export/actions") < page.index("/hide")


def test_only_the_events_organisers_read_its_audit_log(client: TestClient, make: Factory) -> None:
    event = make.event()
    other = make.organiser()
    log_in(client, other.email)
    assert client.get(f"/organiser/events/{event.id}/audit").status_code == 403


def test_changes_made_with_an_api_token_are_logged_and_refused_ones_are_not(
    client: TestClient, make: Factory
) -> None:
    organiser = make.organiser("ada@example.org", name="Ada Script")
    event = make.event(organiser)
    with make.database.write() as session:
        _row, secret = accounts.create_api_token(session, organiser, "script")
    auth = {"Authorization": f"Bearer {secret}"}
    added = client.post(
        f"/api/v1/events/{event.id}/spaces", json={"name": "Atrium", "capacity": 40}, headers=auth
    )
    assert added.status_code == 201
    bad = client.post(f"/api/v1/events/{event.id}/spaces", json={"name": ""}, headers=auth)
    assert bad.status_code == 422
    assert client.get(f"/api/v1/events/{event.id}/spaces", headers=auth).status_code == 200
    assert count(make.database, AuditEntry) == 1  # neither the refused write nor the read
    log_in(client, organiser.email)
    page = text_of(client.get(f"/organiser/events/{event.id}/audit").text)
    assert "Ada Script <ada@example.org> (API token)" in page
    assert "POST /api/v1/events/{event_id}/spaces" in page and "name='Atrium'" in page
