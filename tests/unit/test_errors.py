"""The one mapping from the domain's errors to answers: the status by the kind of error, and
the answer's shape by who asked (a page, htmx, the JSON API)."""

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.services.errors import DomainError, Invalid, NotAllowed, NotFound, Refused
from app.services.proceedings import NoReportYet
from app.services.signups import SessionFull, TopicPlace
from app.web.kit.errors import DOMAIN_STATUS, domain_error, status_of

KINDS: list[tuple[DomainError, int]] = [
    (NotFound("There is no such topic."), 404),
    (NotAllowed("Only its conveners can change this topic."), 403),
    (Refused("This session changed since you saw it."), 409),
    (Invalid("Please keep this to 80 characters or fewer.", "title"), 422),
    (SessionFull(TopicPlace(id=1, event_id=1, slot_id=1, space_id=1, hidden=False)), 409),
    (NoReportYet(), 404),
]


@pytest.fixture
def client() -> TestClient:
    """A small app whose routes raise each error, answered by the app's own mapping."""
    app = FastAPI()
    app.add_exception_handler(DomainError, domain_error)

    def raising(error: DomainError) -> Callable[[], None]:
        def route() -> None:
            raise error

        return route

    for number, (error, _status) in enumerate(KINDS):
        for prefix in ("", "/api/v1"):
            app.add_api_route(f"{prefix}/raise/{number}", raising(error), methods=["POST"])
    return TestClient(app)


@pytest.mark.parametrize(("error", "status"), KINDS)
def test_status_of_a_domain_error_is_decided_by_its_kind(error: DomainError, status: int) -> None:
    assert status_of(error) == status


def test_every_kind_of_domain_error_has_its_status() -> None:
    assert set(DomainError.__subclasses__()) <= set(DOMAIN_STATUS)


def test_a_domain_error_answers_a_page_with_its_status_and_message(client: TestClient) -> None:
    for number, (error, status) in enumerate(KINDS):
        page = client.post(f"/raise/{number}", data={"title": "Night buses"})
        assert page.status_code == status
        assert page.headers["content-type"].startswith("text/html")
        assert error.message in page.text
        assert "Traceback" not in page.text


def test_bad_input_answers_a_page_naming_the_field_with_the_text_kept(
    client: TestClient,
) -> None:
    number = next(n for n, (error, _) in enumerate(KINDS) if isinstance(error, Invalid))
    page = client.post(f"/raise/{number}", data={"title": "Night buses to the venue"})
    assert page.status_code == 422
    assert "Your topic, in a few words: Please keep this" in page.text
    assert "Night buses to the venue" in page.text


def test_a_domain_error_answers_htmx_in_the_status_line(client: TestClient) -> None:
    for number, (error, status) in enumerate(KINDS):
        line = client.post(f"/raise/{number}", headers={"HX-Request": "true"})
        assert line.status_code == status
        assert line.headers["HX-Retarget"] == "#connection"
        assert line.text == error.message


def test_a_domain_error_answers_the_api_in_json(client: TestClient) -> None:
    for number, (error, status) in enumerate(KINDS):
        answer = client.post(f"/api/v1/raise/{number}")
        assert answer.status_code == status
        assert answer.json() == {"detail": error.message, "field": error.field}
