"""In a right-to-left language, every piece of typed text (names, titles, rooms, themes, the
event's name) is isolated from the words around it, so that a left-to-right name beside Urdu
words (or an Urdu name beside English ones) keeps its place: inside a <bdi>, or an element
with dir="auto", holding that text alone."""

from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlmodel import select

from app.config import Settings
from app.models import Action, Event, Participant
from app.security import LinkSigner
from app.web.participant.join import device_path
from tests.conftest import claim, log_in
from tests.factories import Factory, outcomes_event

URDU = {"Accept-Language": "ur-PK,ur;q=0.9"}
# Where text cannot hold a <bdi>; a select's options show one value each anyway.
SKIPPED = {"head", "title", "script", "style", "option", "textarea"}


def _heard_only(element: lxml_html.HtmlElement) -> bool:
    """Whether the text is for screen readers only (they read it in order; nothing shows)."""
    return any(
        "visually-hidden" in (e.get("class") or "") for e in (element, *element.iterancestors())
    )


def _isolated(holder: lxml_html.HtmlElement, value: str) -> bool:
    """Whether the nearest isolating element around `holder` holds `value` alone."""
    for element in (holder, *holder.iterancestors()):
        if element.tag == "bdi" or element.get("dir") == "auto":
            held = element.text_content().strip()
            # A name with its e-mail address (the book, for organisers) is one piece.
            return held == value or (
                held.startswith(value + " (") and held.endswith("@example.pl)")
            )
    return False


def unisolated(page: str, values: list[str]) -> list[str]:
    """Every place on `page` where one of `values` is not isolated."""
    found = []
    for element in lxml_html.document_fromstring(page).iter():
        if not isinstance(element.tag, str) or element.tag in SKIPPED:
            continue
        if element.getparent() is not None and element.getparent().tag in SKIPPED:
            continue
        for text, holder in ((element.text, element), (element.tail, element.getparent())):
            if not text or holder is None or holder.tag in SKIPPED or _heard_only(holder):
                continue
            matches = [value for value in values if value in text]
            # "Convener of Transport" is one name, not "Transport" with words around it.
            for value in [v for v in matches if not any(v != o and v in o for o in matches)]:
                alone = text.strip() == value or text.strip().startswith(value + " (")
                if not alone or not _isolated(holder, value):
                    found.append(f"{value!r} in <{holder.tag}>: {' '.join(text.split())[:70]!r}")
        if (
            element.tag == "input"
            and element.get("value") in values
            and element.get("dir") != "auto"
        ):
            found.append(f"input {element.get('name')} = {element.get('value')!r}")
    for textarea in lxml_html.document_fromstring(page).iter("textarea"):
        if (textarea.text or "").strip() in values and textarea.get("dir") != "auto":
            found.append(f"textarea {textarea.get('name')}")
    return found


def test_isolated_text_finds_a_name_left_among_words() -> None:
    """The check itself: a bare name is found, an isolated one is not."""
    assert unisolated("<p>Hello, Ahmed Raza</p>", ["Ahmed Raza"])
    assert unisolated("<p><bdi>Ahmed Raza · Hall</bdi></p>", ["Ahmed Raza"])
    assert not unisolated("<p>Hello, <bdi>Ahmed Raza</bdi></p>", ["Ahmed Raza"])
    assert not unisolated('<p><a dir="auto">Ahmed Raza</a> · 10:00</p>', ["Ahmed Raza"])


def test_typed_text_is_isolated_on_every_page_in_urdu(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    organiser, event, transport, _housing = outcomes_event(make)
    with make.database.write() as session:
        stored = session.get_one(Event, event.id)
        stored.languages = "ur,en"
        stored.venue = "Leeds Civic Hall"
        people = session.exec(select(Participant).where(Participant.event_id == event.id)).all()
        action = session.exec(
            select(Action).where(Action.title == "Free bus passes for carers")
        ).first()
        assert action is not None and action.id is not None
    values = [
        event.name,
        "How do we leave nobody behind?",
        "Leeds Civic Hall",
        "Transport",
        "Housing",
        "Hall",
        "Mobility",
        "Free bus passes for carers",
        "اردو میں معلومات",
        *(person.display_name for person in people),
    ]
    signer = LinkSigner(settings.secret_key)
    urdu = next(person for person in people if person.display_name == "عائشہ خان")
    assert claim(client, device_path(signer, event, urdu)).status_code == 303
    code = event.join_code
    participant_pages = [
        f"/e/{code}",
        f"/e/{code}/topics",
        f"/e/{code}/wall",
        f"/e/{code}/topics/{transport.id}",
        f"/e/{code}/reports",
        f"/e/{code}/reports/{transport.id}",
        f"/e/{code}/news",
        f"/e/{code}/actions",
        f"/e/{code}/vote",
        f"/e/{code}/actions/{action.id}",
        "/a/" + signer.sign("action", action.id, action.link_version),
        "/display/" + signer.sign("projector", event.id or 0, stored.projector_version),
    ]
    log_in(client, organiser.email)
    organiser_pages = [
        f"/organiser/events/{event.id}",
        f"/organiser/events/{event.id}/actions",
        f"/facilitate/{event.id}",
        f"/facilitate/{event.id}/outcomes",
        f"/facilitate/{event.id}/topics",
        f"/facilitate/{event.id}/reports/{transport.id}",
        f"/events/{event.id}/print/agenda",
        f"/events/{event.id}/print/rooms",
        f"/events/{event.id}/proceedings",
    ]
    problems = {}
    for path in participant_pages + organiser_pages:
        page = client.get(path, headers=URDU)
        assert page.status_code == 200, path
        assert 'dir="rtl"' in page.text[:300], path
        if found := unisolated(page.text, values):
            problems[path] = found
    assert not problems, "\n".join(f"{p}: {f}" for p, found in problems.items() for f in found)
