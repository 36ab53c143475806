"""Participants and organisers read everyday words: an open-space term only where it is
explained (<dfn>, or the principles that explain it), and no file names or commands."""

import re

from fastapi.testclient import TestClient
from lxml import html as lxml_html

from tests.conftest import log_in, post_form
from tests.factories import Factory, outcomes_event

JARGON = ("marketplace", "convergence", "law of two feet")
TECHNICAL = ("event.json", "openspace import")


def read_without_explanations(page: str) -> str:
    """The page's visible text, lower case, without the places that explain a term."""
    body = lxml_html.document_fromstring(page).body
    for explained in body.xpath(
        ".//dfn | .//script | .//style | .//*[contains(@class, 'principles')]"
    ):
        explained.drop_tree()
    return " ".join(body.text_content().split()).lower()


def test_participant_pages_use_everyday_words_before_and_during_the_vote(
    client: TestClient, make: Factory
) -> None:
    _organiser, event, transport, _housing = outcomes_event(make)
    code = event.join_code
    post_form(client, f"/e/{code}/join", {"display_name": "Amira Hussain"})
    pages = ["", "/topics", "/wall", "/reports", f"/reports/{transport.id}", "/vote", "/news"]
    pages += ["/actions", "/pledge", f"/topics/{transport.id}", "/device"]
    for path in pages:
        text = read_without_explanations(client.get(f"/e/{code}{path}").text)
        for word in JARGON:
            assert word not in text, f"{word!r} on /e/{code}{path}"
    wall = client.get(f"/e/{code}/wall").text
    assert re.search(r"<dfn>the law of two feet</dfn>", wall)  # said once, with what it means
    assert "neither learning nor helping where you are" in wall


def test_organiser_set_up_names_no_file_or_command(client: TestClient, make: Factory) -> None:
    organiser, event, _transport, _housing = outcomes_event(make)
    log_in(client, organiser.email)
    for path in ("/organiser", f"/organiser/events/{event.id}"):
        text = read_without_explanations(client.get(path).text)
        for word in TECHNICAL:
            assert word not in text, f"{word!r} on {path}"
    set_up = read_without_explanations(client.get(f"/organiser/events/{event.id}").text)
    assert "the archive file" in set_up
    # The time zone keeps its name (it is what is chosen), with plain words beside it.
    assert "start typing the region or city where the event takes place" in set_up
