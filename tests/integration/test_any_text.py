"""Property-based: any Unicode a person can type into a text field is either taken and
shown back as typed (as text), or refused with a message — never a 5xx."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models.event import as_typed
from app.services import marketplace
from tests.conftest import post_form, text_of
from tests.factories import Factory

TYPED = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # every code point but surrogates
    min_size=0,
    max_size=120,
)
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _shown(text: str) -> str:
    """What a person would expect to see: the text as typed, spaces at the ends left out,
    and what is not text (NUL, escapes, non-characters…) dropped."""
    cleaned = as_typed(text).strip()
    return " ".join(cleaned.split())


@EXAMPLES
@given(name=TYPED)
def test_any_name_joins_or_is_refused_never_a_server_error(
    app: FastAPI, make: Factory, name: str
) -> None:
    event = make.event()
    browser = TestClient(app, follow_redirects=False)
    answer = post_form(browser, f"/e/{event.join_code}/join", {"display_name": name})
    status = answer.status_code  # type: ignore[attr-defined]
    assert status in (303, 422), f"{name!r}: {status}"
    if status == 303:
        home = browser.get(f"/e/{event.join_code}")
        assert home.status_code == 200
        assert _shown(name) in text_of(home.text)
    else:
        assert "Please" in text_of(answer.text)  # type: ignore[attr-defined]


@EXAMPLES
@given(title=TYPED, description=TYPED)
def test_any_topic_is_proposed_or_refused_never_a_server_error(
    app: FastAPI, make: Factory, title: str, description: str
) -> None:
    event = make.event()
    with make.database.write() as session:
        marketplace.open_marketplace(session, event, True)
    browser = TestClient(app, follow_redirects=False)
    post_form(browser, f"/e/{event.join_code}/join", {"display_name": "Zofia"})
    answer = post_form(
        browser, f"/e/{event.join_code}/topics", {"title": title, "description": description}
    )
    status = answer.status_code  # type: ignore[attr-defined]
    assert status in (303, 409, 422), f"{title!r}/{description!r}: {status}"
    if status == 303:
        page = text_of(browser.get(answer.headers["location"]).text)  # type: ignore[attr-defined]
        assert _shown(title) in page
