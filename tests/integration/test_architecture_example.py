"""ARCHITECTURE.md's "how to add a page" is code that works: copied as it stands into a
route module and a template, it serves a real page with the app's rules (issue 24)."""

import re
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jinja2 import ChoiceLoader, DictLoader

from app.config import Settings
from app.main import create_app
from app.templating import env
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory

GUIDE = Path(__file__).resolve().parents[2] / "ARCHITECTURE.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), flags=re.S)


@pytest.fixture
def with_the_example(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app, with the guide's module added as its last router and its template found."""
    (code,) = [block for block in _blocks("python") if "app/web/organiser/themes.py" in block]
    (template,) = _blocks("jinja")
    module = types.ModuleType("example_themes")
    exec(compile(code, "ARCHITECTURE.md", "exec"), module.__dict__)
    monkeypatch.setattr(
        env, "loader", ChoiceLoader([DictLoader({"organiser/themes.html": template}), env.loader])
    )
    app = create_app(settings)
    app.include_router(module.router)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_the_guides_page_and_action_work_as_the_guide_says(
    with_the_example: TestClient, make: Factory, database: object
) -> None:
    client = with_the_example
    organiser = make.organiser()
    event = make.event(organiser)
    other = make.event(make.organiser("someone@example.org"))
    address = f"/organiser/events/{event.id}/framework"
    # Not signed in: sent to log in.
    assert client.get(address).headers["location"].startswith("/login")
    log_in(client, organiser.email)
    page = client.get(address)
    assert page.status_code == 200 and "Themes" in text_of(page.text)
    # Added: the browser goes back to the page, which lists it.
    added = post_form(client, address, {"name": "Warm homes", "description": ""})
    assert added.status_code == 303  # type: ignore[attr-defined]
    assert "Warm homes" in text_of(client.get(address).text)
    # Too long: the page again, 422, the words kept and the message by the field.
    long = "x" * 300
    refused = post_form(client, address, {"name": long, "description": ""})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert f'value="{long}"' in refused.text  # type: ignore[attr-defined]
    assert 'id="name-error"' in refused.text  # type: ignore[attr-defined]
    # Someone else's event, and no event at all.
    assert client.get(f"/organiser/events/{other.id}/framework").status_code == 403
    assert client.get("/organiser/events/999999/framework").status_code == 404
