"""Stored XSS: markup typed into any text field shows as text on every page, for every role.

Every text column people can type into is filled with a payload (cut to the column's
length), then every page of every role is opened in Chromium — with the downloaded book
opened as the saved file would be, without our Content-Security-Policy to hide behind. No
element of the payload may exist in a page, and none of it may run.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext
from sqlmodel import select

from app.models import (
    Action,
    ActionGroup,
    ActionUpdate,
    Announcement,
    Attendance,
    AuditEntry,
    Contribution,
    ContributionRevision,
    Event,
    FacilitatorLink,
    Organiser,
    Participant,
    Pledge,
    Slot,
    Space,
    Theme,
    Topic,
)
from app.models.people import ApiToken
from app.services import live
from tests.browser.test_accessibility import (  # noqa: F401 (fixtures)
    PROJECTOR,
    VISITS,
    Visit,
    open_as,
    show,
    site,
)
from tests.factories import Factory

pytestmark = pytest.mark.browser

PAYLOAD = "\"'><img src=x data-xss onerror=__xss(1)><script>__xss(2)</script>{{7*7}}%(x)s"
TYPED = {
    Event: ["name", "theme_question", "venue", "principles"],
    Organiser: ["name"],
    ActionGroup: ["name", "initiator"],
    Announcement: ["text"],
    ApiToken: ["name"],
    AuditEntry: ["actor", "target"],
    FacilitatorLink: ["label"],
    Participant: ["display_name", "organisation"],
    Slot: ["title"],
    Space: ["name", "access_notes"],
    Theme: ["name", "description"],
    Pledge: ["text"],
    Topic: ["title", "description", "language"],
    Action: ["title", "first_step", "owner_name"],
    Attendance: ["name"],
    Contribution: ["body"],
    ActionUpdate: ["note", "written_by"],
    ContributionRevision: ["body"],
}
WATCH = "window.__runs = 0; window.__xss = () => { window.__runs += 1; };"
FOUND = """() => {
  const made = document.querySelectorAll('[data-xss], img[src="x"], script:not([src])');
  return {elements: made.length, runs: window.__runs || 0,
          shown: document.body.innerText.includes('<script>__xss(2)</script>')};
}"""


def _poison(make: Factory) -> None:
    """Every typed text of every row becomes the payload (numbered: some must be unique)."""
    with make.database.write() as session:
        for model, fields in TYPED.items():
            table = model.__table__  # type: ignore[attr-defined]
            for row in session.exec(select(model)).all():
                for name in fields:
                    length = getattr(table.c[name].type, "length", None)
                    text = f"{PAYLOAD} {row.id}"  # type: ignore[attr-defined]
                    setattr(row, name, text[:length] if length else text)
                session.add(row)


ROLES = ["anonymous", "participant", "projector", "facilitator", "organiser"]


@pytest.mark.parametrize(
    "role", ["anonymous", "participant", "projector", "facilitator", "organiser"]
)
def test_typed_markup_is_text_on_every_page(
    role: str,
    site: dict[str, Any],  # noqa: F811
    open_as: Callable[..., BrowserContext],  # noqa: F811
    make: Factory,
    tmp_path: Path,
) -> None:
    _poison(make)
    context = open_as(role, **(PROJECTOR if role == "projector" else {}))
    context.add_init_script(WATCH)
    dialogs: list[str] = []
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    problems, shown = [], 0
    steps: list[Visit] = [v for v in VISITS if v.role == role and not v.submit]
    for step in steps:
        if step.view:
            with make.database.write() as session:
                live.show_on_projector(session, session.get_one(Event, site["event_id"]), step.view)
        if step.download:  # opened as the saved file: no policy, our own escaping only
            saved = tmp_path / "saved.html"
            saved.write_bytes(context.request.get(step.url(site)).body())
            page.goto(saved.as_uri())
        else:
            show(page, step, site)
        found = page.evaluate(FOUND)
        if found["elements"] or found["runs"]:
            problems.append(f"{step}: {found}")
        shown += found["shown"]
    assert not problems, "\n".join(problems)
    assert not dialogs
    print(f"{role}: typed markup shown as text on {shown} of {len(steps)} pages")
    assert shown >= 2, "the typed markup should show as text"
