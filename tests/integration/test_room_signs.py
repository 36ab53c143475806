"""Room signs and the space that hosts the plenaries: a sign says where everyone meets, and
promises only what scanning its code does."""

from datetime import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect

from app.config import ROOT
from app.models import Event, SlotKind, Space
from app.services import events as event_service
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, placed_topic


def _signs(client: TestClient, event: Event) -> dict[str, str]:
    """Each room's sign, as printed text, by the room's name."""
    page = client.get(f"/events/{event.id}/print/rooms")
    assert page.status_code == 200
    return {
        sign.split("</h1>")[0].removesuffix("</bdi>").rsplit(">", 1)[1]: text_of(sign)
        for sign in page.text.split('<section class="room-sign"')[1:]
    }


def _day(make: Factory) -> tuple[Event, Space, Space, str]:
    organiser = make.organiser()
    event = make.event(organiser, name="Sign day")
    make.slot(event, time(9), time(9, 30), SlotKind.plenary)
    morning = make.slot(event, time(10), time(11))
    hall, garden = make.space(event, "Main hall", 120), make.space(event, "Garden", 12)
    placed_topic(make, event, morning, garden, "Buses at night")
    return event, hall, garden, organiser.email


def test_room_sign_of_the_plenary_space_says_the_plenary_is_there(
    client: TestClient, make: Factory
) -> None:
    event, hall, _garden, email = _day(make)
    log_in(client, email)
    chosen = post_form(
        client, f"/organiser/events/{event.id}/plenary-space", {"space_id": str(hall.id)}
    )
    assert chosen.status_code == 200 and "the plenaries are in Main hall" in chosen.text  # type: ignore[attr-defined]
    signs = _signs(client, event)
    assert "(everyone together, in this room)" in signs["Main hall"]
    assert "(everyone together, in Main hall)" in signs["Garden"]
    assert "not in this room" not in signs["Main hall"] + signs["Garden"]


def test_room_sign_without_a_plenary_space_names_no_room(client: TestClient, make: Factory) -> None:
    event, _hall, _garden, email = _day(make)
    log_in(client, email)
    signs = _signs(client, event)
    for sign in signs.values():
        assert "(everyone together)" in sign and "everyone together, in" not in sign


def test_room_sign_promises_only_what_the_room_page_offers(
    client: TestClient, make: Factory
) -> None:
    event, _hall, garden, email = _day(make)
    log_in(client, email)
    sign = _signs(client, event)["Garden"]
    assert "sign in to the session" not in sign
    assert "open each session and its report" in sign
    # What the code leads to, once joined: the session's own page and its report.
    visitor = TestClient(client.app, follow_redirects=False)
    post_form(visitor, f"/e/{event.join_code}/join", {"display_name": "Scanner"})
    room = visitor.get(f"/e/{event.join_code}/spaces/{garden.id}")
    assert "Buses at night" in text_of(room.text)
    assert f"/e/{event.join_code}/topics/" in room.text
    assert f"/e/{event.join_code}/reports/" in room.text


def test_plenary_space_is_one_per_event_and_can_be_unset(client: TestClient, make: Factory) -> None:
    event, hall, garden, email = _day(make)
    log_in(client, email)
    url = f"/organiser/events/{event.id}/plenary-space"
    post_form(client, url, {"space_id": str(hall.id)})
    post_form(client, url, {"space_id": str(garden.id)})
    with make.database.read() as session:
        hall_now = event_service.plenary_space(event_service.spaces(session, event))
        assert hall_now is not None and hall_now.id == garden.id
        assert [s.name for s in event_service.spaces(session, event) if s.hosts_plenaries] == [
            "Garden"
        ]
    page = client.get(f"/organiser/events/{event.id}")
    assert f'<option value="{garden.id}" selected>Garden</option>' in page.text
    unset = post_form(client, url, {"space_id": ""})
    assert "no one space is named" in unset.text  # type: ignore[attr-defined]
    with make.database.read() as session:
        assert event_service.plenary_space(event_service.spaces(session, event)) is None


def test_plenary_space_of_another_event_is_refused(client: TestClient, make: Factory) -> None:
    event, _hall, _garden, email = _day(make)
    other = make.event()
    elsewhere = make.space(other, "Elsewhere", 10)
    log_in(client, email)
    answer = post_form(
        client, f"/organiser/events/{event.id}/plenary-space", {"space_id": str(elsewhere.id)}
    )
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "No such space" in answer.text  # type: ignore[attr-defined]
    with make.database.read() as session:
        assert not session.get_one(Space, elsewhere.id).hosts_plenaries


def test_plenary_space_migration_goes_down_and_up(tmp_path: Path) -> None:
    """On SQLite: the column and its index come and go with the migration."""
    engine = create_engine(f"sqlite:///{tmp_path / 'migrate.db'}")
    config = Config(str(ROOT / "alembic.ini"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        assert "hosts_plenaries" in {c["name"] for c in inspect(connection).get_columns("space")}
        # To the revision before this one (later migrations come and go with it).
        command.downgrade(config, "e3b9c4d7a2f1")
        assert "hosts_plenaries" not in {
            c["name"] for c in inspect(connection).get_columns("space")
        }
        assert "ix_space_plenary_hall" not in {
            i["name"] for i in inspect(connection).get_indexes("space")
        }
        command.upgrade(config, "head")
        assert "ix_space_plenary_hall" in {
            i["name"] for i in inspect(connection).get_indexes("space")
        }
    engine.dispose()
