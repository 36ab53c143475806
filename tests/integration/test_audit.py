"""The audit log: who on the team changed or downloaded what, and when; nothing else."""

from datetime import time

from fastapi.testclient import TestClient

from app.config import Settings
from app.models import AuditEntry
from app.security import LinkSigner
from app.services import events as event_service
from tests.conftest import log_in, post_form, text_of
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
    laptop.get(f"/f/{LinkSigner(settings.secret_key).sign('facilitator', link.id or 0)}")

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
