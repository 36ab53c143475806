"""WCAG 2.2 AA in a real Chromium: every page passes axe-core, for every role that sees it.

The pages are the app's own GET routes: a route that serves HTML must be visited below by some
role, or be excluded here with its reason, so a new page cannot be forgotten. Every path
parameter is a real row of one rich event (reports, actions, a pledge, an open vote, a pitch
queue, a facilitator link), so pages show their full content, not their empty states.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from axe_playwright_python.base import AxeResults  # type: ignore[import-untyped]
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize
from sqlmodel import col, select

from app import i18n
from app.config import ROOT, Settings
from app.i18n import LANGUAGES
from app.models import (
    Action,
    Contribution,
    Event,
    Message,
    Participant,
    Pledge,
    ProjectorView,
    Role,
    Topic,
)
from app.models.agenda import TopicCreate
from app.models.base import set_clock
from app.models.event import SlotKind
from app.models.live import AnnouncementCreate, CheckOutForm
from app.models.outcomes import ActionStatus, GroupForm, PledgeForm, ProgressForm
from app.models.people import OrganiserCreate, PasswordReset
from app.models.privacy import ErasedBy, ErasureMode
from app.security import LinkSigner
from app.services import (
    accounts,
    audit,
    carry_over,
    check_out,
    contributions,
    convergence,
    invitations,
    live,
    marketplace,
    pledges,
    privacy,
    report_writing,
    reports,
    signups,
)
from app.services import actions as action_service
from app.services import events as event_service
from tests.browser.pages import PHONE
from tests.factories import PASSWORD, Factory, outcomes_event
from tests.integration.test_followup_dashboard import a_year_on
from tests.routes import all_routes

pytestmark = pytest.mark.browser

AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
PHONE_SIZE: ViewportSize = {"width": 390, "height": 844}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
# 1280 × 800 CSS px at 200% zoom: a 640 × 400 layout (drawn with twice the pixels).
ZOOMED: ViewportSize = {"width": 640, "height": 400}
PROJECTOR = {"viewport": {"width": 1920, "height": 1080}}

# GET routes that are not HTML pages, each with the reason it is left out.
EXCLUDED = {
    "/static": "stylesheets, scripts and images (their use is checked on the pages)",
    "/healthz": "JSON for the load balancer",
    "/readyz": "JSON for the load balancer",
    "/sw.js": "the service worker's JavaScript",
    "/j/{code}": "redirect to /join?code=… (the join QR code's short link)",
    "/e/{code}/live": "Server-Sent Events stream",
    "/display/{token}/live": "Server-Sent Events stream",
    "/e/{code}/wall/slots": "htmx fragment of /e/{code}/wall, which is checked whole",
    "/e/{code}/seat-news": "htmx fragment of the wall and the event's page (checked with the "
    "news in it by tests/browser/test_marketplace.py)",
    "/e/{code}/qr.svg": "SVG image (its <img> and alt text are checked on the pages)",
    "/e/{code}/device/qr.svg": "SVG image",
    "/organiser/events/{event_id}/qr.svg": "SVG image",
    "/a/{token}/qr.svg": "SVG image",
    "/e/{code}/pledge.ics": "iCalendar file",
    "/e/{code}/agenda.ics": "iCalendar file",
    "/e/{code}/sessions.ics": "iCalendar file",
    "/events/{event_id}/export/sessions.ics": "iCalendar file",
    "/events/{event_id}/export/actions.{fmt}": "CSV, XLSX, JSON or iCalendar file",
    "/events/{event_id}/export/archive.zip": "ZIP file",
    "/organiser/events/{event_id}/outbox/{message_id}/eml": "e-mail file (.eml)",
    "/organiser/events/{event_id}/one-year-on.docx": "Word file (DOCX) of the one-year-on page",
    "/e/{code}/my-data.json": "JSON file: what is kept about the person, to take away",
    "/a/{token}/my-data.json": "JSON file: what is kept about the action's owner, to take away",
    "/organiser/events/{event_id}/people/{participant_id}/data.json": "JSON file: one "
    "person's data, exported on their request",
}
# Whole branches of routes that are not pages.
EXCLUDED_PREFIXES = {
    "/api/": "the JSON API and its OpenAPI schema (/api/docs, its Swagger UI, is checked by "
    "tests/browser/test_api_docs.py)",
}


@dataclass(frozen=True)
class Visit:
    """One page a role opens: a route, its path parameters from the event, and a query."""

    role: str
    route: str
    query: str = ""
    params: tuple[tuple[str, str], ...] = ()  # path parameter -> which of the event's ids
    view: str = ""  # the projector's view, switched by the facilitator before the visit
    download: bool = False  # served as a download: opened the way the saved file would be
    submit: str = ""  # a form's action: send it with its fields empty, and check the errors
    pick: str = ""  # "name=value" chosen in the form sent: its next step, not its errors
    status: int = 200

    def url(self, ids: dict[str, Any]) -> str:
        return self.fill(self.route + self.query, ids)

    def fill(self, template: str, ids: dict[str, Any]) -> str:
        return template.format_map({**ids, **{name: ids[key] for name, key in self.params}})

    def __str__(self) -> str:
        state = f" [{self.view}]" if self.view else ""
        if self.submit:
            state = f" [{self.submit} sent {self.pick or 'empty'}]"
        return f"{self.role} {self.route}{self.query}{state}"


PRINT_PAGES = [
    ("/events/{event_id}/proceedings", "", False),
    ("/events/{event_id}/print/agenda", "", False),
    ("/events/{event_id}/print/rooms", "", False),
    ("/events/{event_id}/print/person", "?participant={participant_id}", False),
    # The book as a file on its own, stylesheet inside (md and docx are not HTML).
    ("/events/{event_id}/export/proceedings.{fmt}", "", True),
]
ACTION_LINK = (("token", "action_token"),)
INVITE_LINK = (("token", "invite_token"),)
RESET_LINK = (("token", "reset_token"),)
LAST_YEAR = (("event_id", "last_year_id"),)
CARRIED_PLEDGE = (("token", "carried_pledge_token"),)

VISITS = [
    # Anyone: the front door, joining, logging in, and an action's private update link.
    Visit("anonymous", "/"),
    Visit("anonymous", "/join"),
    Visit("anonymous", "/join", "?code=NOPE99", status=404),  # the code is not known
    Visit("anonymous", "/login"),
    Visit("anonymous", "/login", submit="/login"),
    Visit("anonymous", "/offline"),
    Visit("anonymous", "/e/{code}/join"),
    Visit("anonymous", "/e/{code}/join", submit="/e/{code}/join"),
    Visit("anonymous", "/a/{token}", "?saved=1", params=ACTION_LINK),
    # A person's e-mail choices, by the links in every message.
    Visit("anonymous", "/mail/{token}", "?done=stopped", params=(("token", "mail_token"),)),
    Visit("anonymous", "/mail/stop/{token}", params=(("token", "mail_stop_token"),)),
    Visit("anonymous", "/p/{token}", params=(("token", "pledge_token"),)),
    Visit("anonymous", "/mail/{token}/book", params=(("token", "mail_token"),)),
    Visit("anonymous", "/mail/digest/{token}", params=(("token", "digest_token"),)),
    # Organiser accounts by mail: joining a team by an invitation, a forgotten password.
    Visit("anonymous", "/invite/{token}", params=INVITE_LINK),
    Visit("anonymous", "/invite/{token}", params=INVITE_LINK, submit="/invite/{token}"),
    Visit("anonymous", "/password/forgot"),
    Visit("anonymous", "/password/forgot", submit="/password/forgot"),
    Visit("anonymous", "/password/new/{token}", params=RESET_LINK),
    Visit("anonymous", "/password/new/{token}", params=RESET_LINK, submit="/password/new/{token}"),
    # Last year's pledge, carried into this event, refreshed by its author here.
    Visit("participant", "/e/{code}/pledge/refresh/{token}", params=CARRIED_PLEDGE),
    Visit(
        "participant",
        "/e/{code}/pledge/refresh/{token}",
        params=CARRIED_PLEDGE,
        submit="/e/{code}/pledge/refresh/{token}",
    ),
    # People's data: the notice (read before joining), and what is kept about an action's
    # owner, to see or erase by its update link: the choice, refused empty, then asked again.
    Visit("anonymous", "/e/{code}/privacy"),
    Visit("anonymous", "/a/{token}/my-data", params=ACTION_LINK),
    Visit("anonymous", "/a/{token}/erase", params=ACTION_LINK),
    Visit("anonymous", "/a/{token}/erase", params=ACTION_LINK, submit="/a/{token}/erase"),
    Visit(
        "anonymous",
        "/a/{token}/erase",
        params=ACTION_LINK,
        submit="/a/{token}/erase",
        pick="mode=everything",
    ),
    Visit("anonymous", "/e/{code}/erased", "?mode=everything"),  # signed out by then
    # Links that sign someone in only ask, on a page with a button.
    Visit("anonymous", "/f/{token}", params=(("token", "facilitator_token"),)),
    Visit("anonymous", "/e/{code}/continue/{token}", params=(("token", "device_token"),)),
    Visit("anonymous", "/no-such-page", status=404),  # the error page
    # A participant, back as the person who owns actions, wrote in reports and pledged.
    *(
        Visit("participant", route, query)
        for route, query in (
            ("/e/{code}", ""),
            ("/e/{code}/device", ""),
            ("/e/{code}/topics", ""),
            ("/e/{code}/topics/{topic_id}", ""),
            ("/e/{code}/wall", ""),
            ("/e/{code}/spaces/{space_id}", ""),
            ("/e/{code}/reports", ""),
            ("/e/{code}/reports/{topic_id}", ""),
            ("/e/{code}/contributions/{contribution_id}/edit", ""),
            ("/e/{code}/actions", ""),
            ("/e/{code}/actions/{action_id}", ""),
            ("/e/{code}/vote", ""),
            ("/e/{code}/pledge", "?saved=1"),
            ("/e/{code}/news", ""),
            ("/e/{code}/my-data", ""),
            ("/e/{code}/erase", ""),
        )
    ),
    Visit("participant", "/e/{code}/erase", submit="/e/{code}/erase"),
    Visit("participant", "/e/{code}/erase", submit="/e/{code}/erase", pick="mode=name_off"),
    Visit("participant", "/e/{code}/topics/{topic_id}", params=(("topic_id", "unplaced_id"),)),
    # A topic of her own: its page offers to edit and withdraw it; the edit page, refused.
    Visit("participant", "/e/{code}/topics/{topic_id}", params=(("topic_id", "own_topic_id"),)),
    Visit(
        "participant",
        "/e/{code}/topics/{topic_id}/edit",
        params=(("topic_id", "own_topic_id"),),
        submit="/e/{code}/topics/{topic_id}/edit",
    ),
    Visit("participant", "/e/{code}/topics", submit="/e/{code}/topics"),
    Visit(
        "participant", "/e/{code}/reports/{topic_id}", submit="/e/{code}/reports/{topic_id}/actions"
    ),
    Visit("participant", "/e/{code}/pledge", submit="/e/{code}/pledge"),
    # The closing circle's check-out, open: the form, then sent empty.
    Visit("participant", "/e/{code}/check-out"),
    Visit("participant", "/e/{code}/check-out", submit="/e/{code}/check-out"),
    # The projector, in each view the facilitator can switch it to.
    *(
        Visit("projector", "/display/{token}", params=(("token", "projector_token"),), view=view)
        for view in ProjectorView
    ),
    # A facilitator, by the link an organiser sent them; and the printed pages.
    *(
        Visit("facilitator", route)
        for route in (
            "/facilitate/{event_id}",
            "/facilitate/{event_id}/wall",
            "/facilitate/{event_id}/wall/suggestion",
            "/facilitate/{event_id}/topics",
            "/facilitate/{event_id}/topics/{topic_id}/edit",
            "/facilitate/{event_id}/topics/{topic_id}/move",
            "/facilitate/{event_id}/desk",
            "/facilitate/{event_id}/outcomes",
            "/facilitate/{event_id}/reports/{topic_id}",
        )
    ),
    Visit("facilitator", "/facilitate/{event_id}", submit="/facilitate/{event_id}/announcements"),
    Visit("facilitator", "/facilitate/{event_id}/desk", submit="/facilitate/{event_id}/desk/topic"),
    Visit("facilitator", "/facilitate/{event_id}/desk", "?q=a"),  # the people found
    *(Visit("facilitator", route, query, download=d) for route, query, d in PRINT_PAGES),
    # The organiser, logged in; and the same printed pages.
    *(
        Visit("organiser", route)
        for route in (
            "/organiser",
            "/organiser/events/{event_id}",
            "/organiser/events/{event_id}/poster",
            "/organiser/events/{event_id}/actions",
            "/organiser/events/{event_id}/pledges",
            "/organiser/events/{event_id}/outbox",
            "/organiser/events/{event_id}/outbox/{message_id}",
            "/organiser/events/{event_id}/postcards",
            "/organiser/events/{event_id}/dashboard",
            "/organiser/events/{event_id}/people/{participant_id}",
            "/organiser/events/{event_id}/privacy",
            "/organiser/actions",
            "/organiser/account",
        )
    ),
    # Last year's event a year on: late, quiet, done and dropped actions, a pledge answered.
    Visit("organiser", "/organiser/events/{event_id}/dashboard", params=LAST_YEAR),
    # How last year's day went, and this year's before it has begun.
    Visit("organiser", "/organiser/events/{event_id}/how-the-day-went", params=LAST_YEAR),
    Visit("organiser", "/organiser/events/{event_id}/how-the-day-went"),
    Visit("organiser", "/organiser/events/{event_id}/carried", "?brought=2"),
    Visit("organiser", "/organiser/dashboard"),  # this year's and last year's side by side
    Visit("organiser", "/organiser/events/{event_id}/people", "?q=a&erased=name_off"),
    Visit(
        "organiser",
        "/organiser/events/{event_id}/people/{participant_id}",
        submit="/organiser/events/{event_id}/people/{participant_id}/erase",
    ),
    Visit(
        "organiser",
        "/organiser/events/{event_id}/privacy",
        submit="/organiser/events/{event_id}/privacy",
    ),
    Visit(
        "organiser", "/organiser/events/{event_id}", submit="/organiser/events/{event_id}/spaces"
    ),
    Visit("organiser", "/organiser/account", submit="/organiser/account/password"),
    *(Visit("organiser", route, query, download=d) for route, query, d in PRINT_PAGES),
    Visit("organiser", "/organiser/events/{event_id}/one-year-on", params=LAST_YEAR),
    Visit("organiser", "/organiser/events/{event_id}/audit"),  # last: the prints are logged
]
ROLES = ["anonymous", "participant", "projector", "facilitator", "organiser"]
PARTICIPANT_PAGES = [v for v in VISITS if v.role == "participant" and not v.submit]


def get_routes(app: FastAPI) -> set[str]:
    """Every path the app answers a GET on (mounted static files included)."""
    return {path for method, path in all_routes(app) if method == "GET"}


def page_routes(app: FastAPI) -> set[str]:
    return {
        path
        for path in get_routes(app)
        if path not in EXCLUDED and not path.startswith(tuple(EXCLUDED_PREFIXES))
    }


def test_every_page_route_is_visited_by_some_role(app: FastAPI) -> None:
    routes = get_routes(app)
    assert len(routes) > 40
    visited = {visit.route for visit in VISITS}
    forgotten = page_routes(app) - visited
    assert not forgotten, (
        f"pages no role visits (add a Visit, or exclude with a reason): {forgotten}"
    )
    assert not set(EXCLUDED) - routes, "excluded routes that no longer exist"
    assert not visited - routes - {"/no-such-page"}, "visits of routes that do not exist"
    assert {visit.role for visit in VISITS} == set(ROLES)


# --- the event ---------------------------------------------------------------------------


@pytest.fixture
def site(make: Factory, settings: Settings) -> dict[str, Any]:
    """The `exported` event with everything else a page can show, and the ids to reach it;
    and last year's event, a year of follow-up on, whose open actions it carries."""
    try:
        last_year = a_year_on(make)  # moves the clock through the year
    finally:
        set_clock(None)
    organiser, event, transport, housing = outcomes_event(make)
    make.slot(event, time(12, 0), time(13, 0), SlotKind.plenary)
    make.space(event, "Garden room", 12)
    leaving = make.participant(event, "Leaving Soon", "leaving@example.org")
    signer = LinkSigner(settings.secret_key)
    with make.database.write() as session:
        event = session.get_one(Event, event.id)
        people = {
            p.display_name: p
            for p in session.exec(select(Participant).where(Participant.event_id == event.id))
        }
        owner, urdu = people["Zażółć Gęślą"], people["عائشہ خان"]
        transport = session.get_one(Topic, transport.id)
        housing = session.get_one(Topic, housing.id)
        # A topic not yet on the wall; interest and seats on those that are.
        unplaced = marketplace.propose_topic(
            session,
            event,
            urdu,
            TopicCreate(title="Food banks", description="Who runs them?"),
            at_the_desk=True,
        )
        for topic in (transport, housing, unplaced):
            marketplace.set_interest(session, topic, owner, True)
        own = marketplace.propose_topic(
            session, event, owner, TopicCreate(title="Cycle lanes"), at_the_desk=True
        )
        signups.sign_up(session, event, transport, owner)
        signups.sign_up(session, event, housing, urdu)
        # The marketplace with a pitch under way and another waiting; an announcement.
        marketplace.open_marketplace(session, event, True)
        for topic in (transport, housing):
            convener = session.get_one(Participant, topic.convener_id)
            live.queue_pitch(session, event, topic, convener)
        live.next_pitch(session, event)
        live.announce(session, event, AnnouncementCreate(text="Lunch is in the garden room"))
        # Reports: one complete, one contribution hidden by a facilitator.
        convener = session.get_one(Participant, transport.convener_id)
        reports.complete_report(session, event, transport, convener, True)
        report = report_writing.find_report(session, transport)
        assert report is not None
        written = list(
            session.exec(
                select(Contribution)
                .where(Contribution.report_id == report.id)
                .order_by(col(Contribution.id))
            )
        )
        contributions.hide(session, event, next(c for c in written if c.author_id == urdu.id), True)
        mine = next(c for c in written if c.author_id == owner.id)
        # Actions: grouped, followed up, voted on; a pledge.
        actions = list(
            session.exec(select(Action).where(Action.event_id == event.id).order_by(col(Action.id)))
        )
        owned = next(a for a in actions if a.owner_id == owner.id)
        action_service.post_progress(
            session,
            owned,
            ProgressForm(status=ActionStatus.in_progress, note="Met the council", by="Zażółć"),
            via_link=True,
            written_by="",
        )
        convergence.group_actions(
            session, event, [a.id or 0 for a in actions[:2]], GroupForm(name="Buses")
        )
        convergence.open_vote(session, event, True, 5)
        # The check-out, open, with an anonymous answer and a named one (not the owner's).
        check_out.open_check_out(session, event, True)
        for person, words, named in ((urdu, "Courage to ask", False), (convener, "Courage", True)):
            check_out.check_out(
                session, event, person, CheckOutForm(words=words, usefulness=4, named=named)
            )
        convergence.place_dot(session, event, owner, "action", owned.id or 0)
        convergence.place_dot(session, event, owner, "report", report.id or 0)
        pledge = pledges.save_pledge(
            session,
            event,
            owner,
            PledgeForm(
                text="Take the bus to work",
                may_contact=True,
                postcard=True,
                remind_on=date(2027, 11, 4),
            ),
        )
        # The pledge's postcard, waiting in the outbox.
        postcard = session.exec(select(Message).where(Message.event_id == event.id)).one()
        # The book was sent to those who asked (its link in their message opens it).
        event.book_sent_at = datetime(2026, 11, 4, 17, 30, tzinfo=UTC)
        session.add(event)
        # The team: a facilitator link, a colleague, an API token.
        link = event_service.create_facilitator_link(session, event, "Laptop at the desk")
        colleague = accounts.create_organiser(
            session,
            OrganiserCreate(email="colleague@example.org", name="Col League", password="x" * 12),
        )
        event_service.add_team_member(session, event, colleague.email, "", Role.facilitator)
        accounts.create_api_token(session, organiser, "Spreadsheet")
        invited = invitations.invite(
            session, event, organiser, "newcomer@example.org", "Nia Newcomer", Role.organiser
        ).invite
        accounts.ask_password_reset(session, colleague.email)
        reset = session.exec(select(PasswordReset)).one()
        # Someone who asked the organisers to take their name off; last year's open work.
        privacy.erase(
            session,
            event,
            session.get_one(Participant, leaving.id),
            ErasureMode.name_off,
            ErasedBy.organiser,
        )
        earlier = session.get_one(Event, last_year.event.id)
        event_service.add_team_member(session, earlier, organiser.email, "", Role.organiser)
        assert carry_over.carry_open_actions(session, organiser, event, earlier.id) == 2
        carried_pledge = session.exec(select(Pledge).where(Pledge.event_id == earlier.id)).first()
        assert carried_pledge is not None and carried_pledge.id is not None
        audit.record(
            session,
            event.id,
            "facilitator link “Laptop at the desk”",
            "POST /facilitate/{event_id}/announcements: Announce",
            "text=Lunch is in the garden room",
        )
        assert event.id is not None and owner.id is not None and owned.id is not None
        return {
            "code": event.join_code,
            "event_id": event.id,
            "last_year_id": last_year.event.id,
            "topic_id": transport.id,
            "unplaced_id": unplaced.id,
            "own_topic_id": own.id,
            "space_id": transport.space_id,
            "contribution_id": mine.id,
            "action_id": owned.id,
            "participant_id": owner.id,
            "fmt": "html",
            "projector_token": signer.sign("projector", event.id, event.projector_version),
            "action_token": signer.sign("action", owned.id, owned.link_version),
            "device_token": signer.sign("device", owner.id, owner.link_version),
            "facilitator_token": signer.sign("facilitator", link.id or 0),
            "organiser_email": organiser.email,
            "message_id": postcard.id,
            "mail_token": signer.sign("mail-choices", owner.id),
            "mail_stop_token": signer.sign("mail-stop", owner.id, 1),
            "digest_token": signer.sign("digest-stop", organiser.id),
            "pledge_token": signer.sign("pledge-answer", pledge.id or 0),
            "invite_token": signer.sign("team-invite", invited.id or 0, invited.version),
            "reset_token": signer.sign("password-reset", reset.id or 0, reset.password_mark),
            "carried_pledge_token": signer.sign("pledge-answer", carried_pledge.id),
        }


# --- the browsers ------------------------------------------------------------------------

AXE_SCRIPT = Axe().axe_script  # axe-core, from axe-playwright-python
# Pages are checked two at a time (this machine has two cores): axe runs in each page's own
# renderer process, so one page is checked while the next one loads.
TABS = 2
# A form sent with every field it shows emptied (novalidate: the server answers), by the
# browser, so that an htmx form swaps in its errors the way it does for a person.
SEND_EMPTY = """([action, pick]) => {
  const form = [...document.forms].find(f => f.getAttribute("action") === action);
  if (!form) throw new Error("no form " + action);
  for (const field of form.querySelectorAll("input:not([type=hidden]), textarea")) {
    if (field.type === "checkbox" || field.type === "radio") field.checked = false;
    else field.value = "";
  }
  if (pick) {  // "name=value": that one chosen (a radio button or a tick box)
    const [name, value] = pick.split("=");
    const chosen = form.querySelector(`input[name="${name}"][value="${value}"]`);
    if (!chosen) throw new Error("no " + pick + " in " + action);
    chosen.checked = true;
  }
  form.noValidate = true;
  form.requestSubmit();
}"""
FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]),"
    " select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])"
)


@pytest.fixture
def open_as(
    browser: Browser, live_server: str, contexts: list[BrowserContext], site: dict[str, Any]
) -> Callable[..., BrowserContext]:
    """A new browser (a context) of someone in this role, signed in."""

    def open_as(role: str, **options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server, **{**DESKTOP, **options})
        contexts.append(context)
        page = context.new_page()
        if role == "participant":  # back as themselves, by their personal device link
            page.goto(f"/e/{site['code']}/continue/{site['device_token']}")
            page.get_by_role("button", name="Continue as").click()
            page.wait_for_url(f"**/e/{site['code']}")
            assert page.url.endswith(f"/e/{site['code']}")
        elif role == "facilitator":
            page.goto(f"/f/{site['facilitator_token']}")
            page.get_by_role("button", name="Facilitate on this browser").click()
            page.wait_for_url(f"**/facilitate/{site['event_id']}")
            assert page.url.endswith(f"/facilitate/{site['event_id']}")
        elif role == "organiser":  # the log-in form itself is checked as anonymous
            context.request.get("/login")
            token = next(c["value"] for c in context.cookies() if c["name"] == "openspace_csrf")
            form = {"email": site["organiser_email"], "password": PASSWORD, "csrf_token": token}
            assert context.request.post("/login", form=form).url.endswith("/organiser")
        page.close()
        return context

    return open_as


def contrast(one: str, other: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


FOCUS_RINGS = """selector => {
  const rings = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === "hidden") continue;
    if (el.closest("details:not([open])") && el.tagName !== "SUMMARY") continue;
    el.focus();
    if (document.activeElement !== el) continue;
    const style = getComputedStyle(el);
    // The middle of what is on screen of it: what is there must be the control itself.
    const seen = el.getBoundingClientRect();
    const top = Math.max(seen.top, 0), bottom = Math.min(seen.bottom, innerHeight);
    const left = Math.max(seen.left, 0), right = Math.min(seen.right, innerWidth);
    const hit = bottom > top && right > left
      ? document.elementFromPoint((left + right) / 2, (top + bottom) / 2) : null;
    rings.push({
      what: el.outerHTML.slice(0, 120),
      visible: el.matches(":focus-visible"),
      outline: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth),
      outlineColour: style.outlineColor,
      shadow: style.boxShadow,
      covered: !hit || !(el.contains(hit) || hit.contains(el)),
      hit: hit ? hit.outerHTML.slice(0, 80) : [seen.top, seen.height, innerHeight].join(),
    });
  }
  return rings;
}"""


def focus_rings(page: Page, where: str) -> list[str]:
    """Every control, focused from the keyboard, shows the two-colour ring (a 3 px outline
    over a dark halo, at least 9:1 apart, so one of them stands out at least 3:1 on any
    background) and is not covered by anything sticky (WCAG 2.4.7, 2.4.11, 1.4.11)."""
    page.keyboard.press("Tab")  # from here on the browser treats focus as keyboard focus
    found = []
    for ring in page.evaluate(FOCUS_RINGS, FOCUSABLE):
        halo = re.match(r"(rgba?\([^)]*\))", ring["shadow"])
        if not ring["visible"] or ring["outline"] < 2 or halo is None:
            found.append(f"{where}: no focus ring on {ring}")
        elif contrast(ring["outlineColour"], halo.group(1)) < 9:
            found.append(f"{where}: focus ring too faint on {ring}")
        if ring["covered"]:
            found.append(f"{where}: focused but covered: {ring}")
    return found


def show(page: Page, step: Visit, ids: dict[str, Any]) -> None:
    """The page in the state `step` describes."""
    url = step.url(ids)
    if step.download:
        answer = page.context.request.get(url)
        assert answer.ok, f"{step}: {answer.status}"
        assert "attachment" in answer.headers.get("content-disposition", "")
        page.set_content(answer.text())
        return
    loaded = page.goto(url)
    assert loaded is not None and loaded.status == step.status, f"{step}: {loaded}"
    assert page.url.endswith(url), f"{step}: sent on to {page.url}"
    if step.submit and step.pick:  # a plain form: the next page is its next step
        with page.expect_navigation():
            page.evaluate(SEND_EMPTY, [step.fill(step.submit, ids), step.pick])
        page.wait_for_load_state()
    elif step.submit:
        page.evaluate(SEND_EMPTY, [step.fill(step.submit, ids), ""])
        page.locator('[aria-invalid="true"], .error').first.wait_for()
        page.wait_for_load_state()
    # What folds away (forms to change a space, an action...) is checked unfolded too.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


def start_axe(page: Page) -> None:
    page.evaluate(AXE_SCRIPT)  # as Axe().run() does (the app's CSP allows no other script)
    page.evaluate(
        "options => { window.axeFound = new Promise(done =>"
        " setTimeout(() => done(axe.run(document, options)))); }",
        AXE_OPTIONS,
    )


def axe_findings(page: Page, where: str) -> list[str]:
    """What axe-core found wrong on the page, one line per element."""
    found = AxeResults(page.evaluate("() => window.axeFound"))
    return [
        f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}"
        f"\n    at {' '.join(map(str, node['target']))}: {node['html'][:200]}"
        f"\n    {node.get('failureSummary', '').replace(chr(10), ' ')}"
        for violation in found.response["violations"]
        for node in violation["nodes"]
    ]


MOVING = """() => [...document.querySelectorAll("*")].flatMap(el => {
  const style = getComputedStyle(el);
  const moves = (durations) => durations.split(",").some(d => parseFloat(d) > 0);
  const animated = style.animationName !== "none" && moves(style.animationDuration);
  const transition = moves(style.transitionDuration);
  return animated || transition || style.scrollBehavior === "smooth"
    ? [el.tagName.toLowerCase() + (el.className ? "." + el.className : "")] : [];
})"""


def sideways_scroll(page: Page, where: str) -> list[str]:
    wide = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return [f"{where}: the page scrolls sideways by {wide}px"] if wide > 1 else []


def check_pages(
    context: BrowserContext,
    steps: list[Visit],
    ids: dict[str, Any],
    *,
    tabs: int = TABS,
    before: Callable[[Visit], None] = lambda step: None,
    also: Callable[[Page, str], list[str]] = focus_rings,
) -> list[str]:
    """Every step's page through axe-core, then `also` (the focus rings). Pages take turns
    in `tabs` tabs: while axe-core checks one, the next one loads."""
    pages = [context.new_page() for _ in range(tabs)]
    found: list[str] = []
    checking: list[tuple[Page, Visit]] = []
    for number, step in enumerate(steps):
        page = pages[number % tabs]
        if len(checking) == tabs:  # this tab's last page first
            done, last = checking.pop(0)
            found += axe_findings(done, str(last)) + also(done, str(last))
        before(step)
        show(page, step, ids)
        start_axe(page)
        checking.append((page, step))
    for done, last in checking:
        found += axe_findings(done, str(last)) + also(done, str(last))
    return found


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_passes_axe(
    role: str,
    site: dict[str, Any],
    open_as: Callable[..., BrowserContext],
    make: Factory,
) -> None:
    def switch_projector(step: Visit) -> None:
        with make.database.write() as session:
            live.show_on_projector(session, session.get_one(Event, site["event_id"]), step.view)

    steps = [visit for visit in VISITS if visit.role == role]
    if role == "projector":  # one screen, switched from view to view
        found = check_pages(
            open_as(role, **PROJECTOR), steps, site, tabs=1, before=switch_projector
        )
    else:
        found = check_pages(open_as(role), steps, site)
    assert not found, "\n".join(found)


def test_participant_pages_on_a_phone_and_zoomed(
    site: dict[str, Any], open_as: Callable[..., BrowserContext]
) -> None:
    """Each participant page at 390 × 844: axe-core again, focus rings not hidden by the small
    screen, and nothing to scroll sideways. Then the same page as a 1280 px screen zoomed to
    200 % lays it out, 640 px wide: still nothing cut off or to scroll sideways. Reduced
    motion is asked for, and nothing moves."""
    phone = open_as("participant", **PHONE, reduced_motion="reduce")

    def on_a_phone(page: Page, where: str) -> list[str]:
        found = sideways_scroll(page, where) + focus_rings(page, where)
        found += [f"{where}: moves despite reduced motion: {el}" for el in page.evaluate(MOVING)]
        page.set_viewport_size(ZOOMED)
        found += sideways_scroll(page, f"200% {where}")
        page.set_viewport_size(PHONE_SIZE)
        return found

    found = check_pages(phone, PARTICIPANT_PAGES, site, also=on_a_phone)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("role", ["facilitator", "organiser"])
def test_team_pages_on_a_phone_scroll_only_inside_their_grids(
    role: str, site: dict[str, Any], open_as: Callable[..., BrowserContext]
) -> None:
    """A facilitator runs the day from a phone too: the wall grid and the action board may
    scroll sideways in their own box, the page itself not. (Pages laid out for paper, the
    printed agenda, poster and book, are left out.)"""
    page = open_as(role, **PHONE).new_page()
    found: list[str] = []
    paper = ("/print/", "/proceedings", "/poster")
    for step in VISITS:
        on_paper = any(part in str(step) for part in paper)
        if step.role == role and not step.submit and not step.download and not on_paper:
            show(page, step, site)
            found += sideways_scroll(page, str(step))
    assert not found, "\n".join(found)


def test_participant_pages_in_the_other_languages(
    site: dict[str, Any], open_as: Callable[..., BrowserContext], live_server: str
) -> None:
    """The busiest participant pages on a phone in each other language (Urdu right to left):
    the page says which language it is in, passes axe-core, and does not scroll sideways."""
    phone = open_as("participant", **PHONE)
    found: list[str] = []
    for language in sorted(set(LANGUAGES) - {"en"}):
        phone.add_cookies([{"name": i18n.COOKIE, "value": language, "url": live_server}])

        def in_language(page: Page, where: str, language: str = language) -> list[str]:
            said = page.evaluate("() => [document.documentElement.lang, document.dir]")
            wanted = [language, i18n.direction(language)]
            problems = [] if said == wanted else [f"{language} {where}: lang and dir {said}"]
            return problems + sideways_scroll(page, f"{language} {where}")

        steps = [
            Visit("participant", "/e/{code}/topics"),
            Visit("participant", "/e/{code}/reports/{topic_id}"),
        ]
        found += check_pages(phone, steps, site, also=in_language)
    assert not found, "\n".join(found)


# --- the stylesheets ---------------------------------------------------------------------


def test_stylesheets_turn_motion_off_for_those_who_ask() -> None:
    for sheet in (ROOT / "static" / "css").glob("*.css"):
        css = sheet.read_text()
        if re.search(r"transition|animation|@keyframes|scroll-behavior:\s*smooth", css):
            assert "prefers-reduced-motion: reduce" in css, sheet.name
