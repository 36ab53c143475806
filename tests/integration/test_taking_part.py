"""Who took part in a session (the book's "Taking part"): who may change the list, that
taking someone off asks first and can be undone, and that the report says who changed it."""

import re
from collections.abc import Iterator
from datetime import date, time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.models import Organiser, Participant, Topic
from app.services import marketplace, signups
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, placed_topic


class Day:
    """A session on the wall; Ahmed has a seat in it, Maria co-convenes it, Mallory never
    came; each on a phone of their own."""

    def __init__(self, client: TestClient, make: Factory) -> None:
        self.make = make
        self.event = make.event(starts_on=date(2027, 8, 31))
        slot = make.slot(self.event, time(10, 45), time(11, 45))
        space = make.space(self.event, "Garden room", 30)
        self.topic = placed_topic(make, self.event, slot, space, "Warm spaces")
        self.phones = {
            name: self._join(client, name) for name in ("Ahmed Raza", "Maria", "Mallory")
        }
        with make.database.write() as session:
            topic = session.get_one(Topic, self.topic.id)
            signups.sign_up(session, self.event, topic, self.person("Ahmed Raza"))
            marketplace.co_convene(session, topic, self.person("Maria"))
        self.url = f"/e/{self.event.join_code}/reports/{self.topic.id}"

    def _join(self, client: TestClient, name: str) -> TestClient:
        browser = TestClient(client.app, follow_redirects=False)
        joined = post_form(browser, f"/e/{self.event.join_code}/join", {"display_name": name})
        assert joined.status_code == 303  # type: ignore[attr-defined]
        return browser

    def person(self, name: str) -> Participant:
        with self.make.database.read() as session:
            return session.exec(
                select(Participant).where(
                    Participant.display_name == name, Participant.event_id == self.event.id
                )
            ).one()

    def take_off(self, who: str, whom: str, **extra: str) -> object:
        return post_form(
            self.phones[who],
            f"{self.url}/people/take-off",
            {"participant_id": str(self.person(whom).id), **extra},
        )

    def put_back(self, who: str, whom: str) -> object:
        return post_form(
            self.phones[who], f"{self.url}/people", {"participant_id": str(self.person(whom).id)}
        )

    def list_of(self, who: str) -> str:
        """The "Who took part" section as the person reads it."""
        page = self.phones[who].get(self.url).text
        section = re.search(r'<section class="panel" id="people".*?</section>', page, re.S)
        assert section is not None
        return text_of(section.group(0))

    def on_list(self, who: str) -> str:
        """The names on the list itself (not its record of changes), as the person reads it."""
        page = self.phones[who].get(self.url).text
        section = page.split('id="people"')[1]
        listed = re.search(r'<ul class="rows">(.*?)</ul>', section, re.S)
        assert listed is not None
        return text_of(listed.group(1))


@pytest.fixture
def day(client: TestClient, make: Factory) -> Iterator[Day]:
    found = Day(client, make)
    yield found
    for browser in found.phones.values():
        browser.close()


def test_taking_part_stranger_cannot_take_anyone_off(day: Day) -> None:
    """The walk's finding: someone who never came took Ahmed off another session's list."""
    assert "Take off Ahmed Raza" not in day.list_of("Mallory")
    refused = day.take_off("Mallory", "Ahmed Raza", confirm="1")
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "Only the person themselves" in text_of(refused.text)  # type: ignore[attr-defined]
    assert "Ahmed Raza" in day.on_list("Maria") and "taken off" not in day.list_of("Maria")


def test_taking_part_old_take_off_form_never_takes_off_unasked(day: Day) -> None:
    """A page from before (present=0 to the list) asks too, and refuses a stranger."""
    ahmed = str(day.person("Ahmed Raza").id)
    old = post_form(
        day.phones["Mallory"], f"{day.url}/people", {"participant_id": ahmed, "present": "0"}
    )
    assert old.status_code == 409  # type: ignore[attr-defined]
    asked = post_form(
        day.phones["Maria"], f"{day.url}/people", {"participant_id": ahmed, "present": "0"}
    )
    assert asked.status_code == 200  # type: ignore[attr-defined]
    assert "Ahmed Raza" in day.list_of("Maria") and "taken off" not in day.list_of("Maria")


def test_taking_part_take_off_asks_first_without_javascript(day: Day) -> None:
    asked = day.take_off("Maria", "Ahmed Raza")
    assert asked.status_code == 200  # type: ignore[attr-defined]
    question = text_of(asked.text)  # type: ignore[attr-defined]
    assert "Take Ahmed Raza off the list of who took part?" in question
    assert 'name="confirm" value="1"' in asked.text  # type: ignore[attr-defined]
    assert "Cancel" in question
    assert "taken off" not in day.list_of("Maria"), "nothing changes until it is confirmed"
    assert day.take_off("Maria", "Ahmed Raza", confirm="1").status_code == 303  # type: ignore[attr-defined]
    assert "Ahmed Raza" not in day.on_list("Maria")


def test_taking_part_convener_takes_off_and_undo_puts_back_with_the_record_shown(
    day: Day,
) -> None:
    done = day.take_off("Maria", "Ahmed Raza", confirm="1")
    assert done.status_code == 303  # type: ignore[attr-defined]
    landed = day.phones["Maria"].get(done.headers["location"])  # type: ignore[attr-defined]
    notice = re.search(r'<div class="notice" role="status">(.*?)</div>', landed.text, re.S)
    assert notice is not None
    assert re.search(r"Ahmed Raza taken off by Maria, \d\d:\d\d · Undo", text_of(notice[1]))
    # Everyone sees who changed the list, and when.
    assert re.search(r"Ahmed Raza taken off by Maria, \d\d:\d\d", day.list_of("Mallory"))
    assert day.put_back("Maria", "Ahmed Raza").status_code == 303  # type: ignore[attr-defined]
    back = day.list_of("Mallory")
    assert "Ahmed Raza" in day.on_list("Mallory")
    assert re.search(r"Ahmed Raza added by Maria, \d\d:\d\d", back)


def test_taking_part_person_takes_themselves_off_and_back(day: Day) -> None:
    assert day.take_off("Ahmed Raza", "Ahmed Raza", confirm="1").status_code == 303  # type: ignore[attr-defined]
    assert re.search(r"Ahmed Raza took themselves off, \d\d:\d\d", day.list_of("Maria"))
    assert day.put_back("Ahmed Raza", "Ahmed Raza").status_code == 303  # type: ignore[attr-defined]
    assert "Ahmed Raza" in day.on_list("Maria")


def test_taking_part_only_someone_who_took_part_adds_a_colleague(day: Day) -> None:
    name = {"name": "Mr Khan from the library"}
    refused = post_form(day.phones["Mallory"], f"{day.url}/people", name)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "Mr Khan" not in day.list_of("Maria")
    assert "Add someone by name" not in day.list_of("Mallory")
    # Mallory did come after all: she says so, and may then add her colleague.
    mallory = str(day.person("Mallory").id)
    assert (
        post_form(
            day.phones["Mallory"], f"{day.url}/people", {"participant_id": mallory}
        ).status_code
        == 303
    )  # type: ignore[attr-defined]
    assert post_form(day.phones["Mallory"], f"{day.url}/people", name).status_code == 303  # type: ignore[attr-defined]
    listed = day.list_of("Ahmed Raza")
    assert "Mr Khan from the library (added by name)" in listed
    assert re.search(r"Mr Khan from the library added by Mallory, \d\d:\d\d", listed)
    # Whoever typed a name may take it off again; Ahmed, who only took part, may not.
    page = day.phones["Ahmed Raza"].get(day.url).text
    assert "Take off</button>" not in page.split("Mr Khan from the library")[1].split("</li>")[0]


def test_taking_part_facilitator_takes_off_and_the_report_says_a_facilitator(
    day: Day, client: TestClient
) -> None:
    with day.make.database.read() as session:
        organiser = session.exec(select(Organiser)).one()
    ahmed = str(day.person("Ahmed Raza").id)
    base = f"/facilitate/{day.event.id}/reports/{day.topic.id}"
    with TestClient(client.app, follow_redirects=False) as desk:
        log_in(desk, organiser.email)
        asked = post_form(desk, f"{base}/people/take-off", {"participant_id": ahmed})
        assert asked.status_code == 200  # type: ignore[attr-defined]
        assert "Take Ahmed Raza off the list of who took part?" in text_of(asked.text)  # type: ignore[attr-defined]
        done = post_form(desk, f"{base}/people/take-off", {"participant_id": ahmed, "confirm": "1"})
        assert done.status_code == 303  # type: ignore[attr-defined]
        shown = text_of(desk.get(base).text)
        assert "Ahmed Raza is off the list" in shown
        assert re.search(r"Ahmed Raza taken off by a facilitator, \d\d:\d\d Undo", shown)
        assert re.search(r"taken off by a facilitator, \d\d:\d\d", day.list_of("Mallory"))
        assert post_form(desk, f"{base}/people", {"participant_id": ahmed}).status_code == 303  # type: ignore[attr-defined]
    assert "Ahmed Raza" in day.on_list("Mallory")
