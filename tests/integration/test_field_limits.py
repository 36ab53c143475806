"""One limit per field, checked once: a long text is refused next to its field with a 422,
never accepted by the form and then refused by a second model with a 500."""

from fastapi.testclient import TestClient

from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory

LONG = "x" * 10_000


def test_a_very_long_slot_title_is_refused_by_its_field(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    answer = post_form(
        client,
        f"/organiser/events/{event.id}/slots",
        {
            "day": str(event.starts_on),
            "start": "10:00",
            "end": "11:00",
            "kind": "breakout",
            "title": LONG,
        },
    )
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "80 characters or fewer" in text_of(answer.text)  # type: ignore[attr-defined]


def test_a_very_long_team_member_name_is_refused_by_its_field(
    client: TestClient, make: Factory
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    answer = post_form(
        client,
        f"/organiser/events/{event.id}/team",
        {"email": "new@example.org", "name": LONG, "role": "facilitator"},
    )
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "80 characters or fewer" in text_of(answer.text)  # type: ignore[attr-defined]


def test_a_very_long_token_name_is_refused_by_its_field(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    log_in(client, organiser.email)
    answer = post_form(client, "/organiser/account/tokens", {"name": LONG})
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "80 characters or fewer" in text_of(answer.text)  # type: ignore[attr-defined]
    assert "Your new token" not in text_of(answer.text)  # type: ignore[attr-defined]
