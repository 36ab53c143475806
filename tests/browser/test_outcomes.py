"""In a real Chromium: reports written together, actions followed up, and text kept as text."""

from datetime import date, time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from app.models import Event, Participant, Topic
from app.security import LinkSigner
from app.services import convergence, live, reports
from tests.browser.pages import PHONE, connected, join, log_in
from tests.factories import Factory, placed_topic

pytestmark = pytest.mark.browser

SECRET = "test-secret-key-that-is-long-enough-for-anything"


def test_two_people_write_one_report_at_once_and_an_action_is_followed_up(
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
    screenshots: Path,
) -> None:
    organiser = make.organiser("office@example.org")
    event = make.event(organiser, starts_on=date(2027, 3, 20))
    slot = make.slot(event, time(14, 0), time(15, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Garden room", 20), "Warm spaces")

    def context(**options: object) -> BrowserContext:
        made = browser.new_context(base_url=live_server, **options)  # type: ignore[arg-type]
        contexts.append(made)
        return made

    report = f"/e/{event.join_code}/reports/{topic.id}"
    ana = join(context(**PHONE), event.join_code, "Ana Kowalczyk")
    bilal = join(context(**PHONE), event.join_code, "بلال احمد")
    for page, words in (
        (ana, "Libraries open on Sundays"),
        (bilal, "Mosques already run warm hubs"),
    ):
        page.goto(report)
        page.get_by_label("Your words").fill(words)
    # Both press "Add" at the same moment.
    for page in (ana, bilal):
        page.evaluate("document.querySelector('#add form').requestSubmit()")
    for page in (ana, bilal):
        page.wait_for_url(f"**{report}#c*")
        connected(page)
    for page in (ana, bilal):
        body = page.locator("#report-body")
        expect(body).to_contain_text("Libraries open on Sundays — Ana Kowalczyk")
        expect(body).to_contain_text("Mosques already run warm hubs — بلال احمد")

    # A third note appears on the other phone by itself, without a reload.
    bilal.get_by_label("Your words").fill("Transport is the real barrier")
    bilal.get_by_role("button", name="Add to the report").click()
    expect(ana.locator("#report-body")).to_contain_text(
        "Transport is the real barrier — بلال احمد", timeout=5000
    )

    # Ana records an action for a named organisation with a due date.
    ana.get_by_text("Add an action").click()
    ana.get_by_label("What will be done").fill("Map every warm space in the borough")
    ana.get_by_label("Who will do it?").select_option(label="Someone else: type the name below")
    ana.get_by_label("Name of the person or organisation").fill("Age UK Lewisham")
    ana.get_by_label("By when").fill("2027-06-30")
    ana.get_by_role("button", name="Add the action").click()
    # Back on the report; its notice leads to the action's page and its private link.
    added = ana.get_by_role("status").filter(has_text="Added")
    expect(added).to_contain_text("Map every warm space in the borough")
    added.get_by_role("link").click()
    expect(ana.locator(".facts")).to_contain_text("Age UK Lewisham")
    expect(ana.locator(".facts")).to_contain_text("30 June 2027")
    link = ana.locator(".link-box a").inner_text()
    ana.screenshot(path=str(screenshots / "phone-action.png"), full_page=True)

    # Months later the owner, with no account, opens the link and says it is done.
    owner = context(**PHONE).new_page()
    owner.goto(link.replace(live_server, ""))
    owner.get_by_label("Status now").select_option(label="Done")
    owner.get_by_label("What has happened since").fill("The map is on the council website")
    owner.get_by_role("button", name="Post the update").click()
    expect(owner.locator("#saved")).to_contain_text("your update is saved")

    # The organiser's tracker shows it.
    office = context().new_page()
    log_in(office, organiser.email)
    office.goto(f"/organiser/events/{event.id}/actions")
    row = office.locator("tr", has_text="Map every warm space in the borough")
    expect(row).to_contain_text("Done")
    expect(row).to_contain_text("The map is on the council website")
    office.screenshot(path=str(screenshots / "tracker.png"), full_page=True)


PAYLOADS = [
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss = 'img'\">",
    "<svg onload=\"window.__xss = 'svg'\"></svg>",
    '"><script>window.__xss = "attr"</script>',
    "'><img src=x onerror=window.__xss='quote'>",
    "<iframe srcdoc=\"<script>parent.__xss='iframe'</script>\"></iframe>",
    "[click me](javascript:window.__xss='md')",
    "<a href=\"javascript:window.__xss='href'\">link</a>",
    "**bold** _and_ # heading",
    "{{ 7*7 }} {% raw %}",
    "</textarea><script>window.__xss='textarea'</script>",
    "<style>body{display:none}</style>",
]


def test_stored_html_and_markdown_show_as_text_and_never_run(
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
) -> None:
    organiser = make.organiser("xss@example.org")
    event = make.event(organiser)
    slot = make.slot(event, time(14, 0), time(15, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Hall", 20), "Safety")
    code = event.join_code

    # Store every payload through the forms, as a participant would.
    with httpx.Client(base_url=live_server, follow_redirects=False) as phone:
        phone.get("/")
        token = phone.cookies["openspace_csrf"]
        phone.post(f"/e/{code}/join", data={"display_name": PAYLOADS[1], "csrf_token": token})
        for n, payload in enumerate(PAYLOADS):
            answer = phone.post(
                f"/e/{code}/reports/{topic.id}/contributions",
                data={"kind": "key_point", "body": payload, "csrf_token": token},
            )
            assert answer.status_code == 303
            answer = phone.post(
                f"/e/{code}/reports/{topic.id}/actions",
                data={
                    "title": f"{n} {payload}"[:200],
                    "owner_name": payload[:120],
                    "first_step": payload[:300],
                    "status": "agreed",
                    "csrf_token": token,
                },
            )
            assert answer.status_code == 303
            phone.post(
                f"/e/{code}/reports/{topic.id}/people",
                data={"name": payload[:120], "csrf_token": token},
            )
        added = answer.headers["location"].split("added=")[1].split("#")[0]
        action_page = phone.get(f"/e/{code}/actions/{added}").text
        action_path = action_page.split('class="qr" src="')[1]
        action_path = action_path.split("/qr.svg")[0]
        phone.post(f"/e/{code}/pledge", data={"text": PAYLOADS[0], "csrf_token": token})
        phone.post(
            action_path,
            data={"status": "done", "note": PAYLOADS[2], "by": PAYLOADS[3], "csrf_token": token},
        )
    with make.database.write() as session:
        fresh = session.get_one(Event, event.id)
        participant_topic = session.get_one(Topic, topic.id)
        convener = participant_topic.convener_id
        reports.complete_report(
            session, fresh, participant_topic, session.get_one(Participant, convener), True
        )
        convergence.open_vote(session, fresh, True, 5)
        live.show_on_projector(session, fresh, "news")

    signer = LinkSigner(SECRET)
    page = browser.new_context(base_url=live_server).new_page()
    contexts.append(page.context)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, organiser.email)
    page.goto(f"/e/{code}/join")
    page.get_by_label("Your name").fill("Checker")
    page.get_by_role("button", name="Join").click()

    pages = [
        f"/e/{code}/reports/{topic.id}",
        f"/e/{code}/news",
        f"/e/{code}/vote",
        f"/e/{code}/reports",
        action_path,
        f"/facilitate/{event.id}/reports/{topic.id}",
        f"/facilitate/{event.id}/outcomes",
        f"/organiser/events/{event.id}/actions",
        f"/organiser/events/{event.id}/pledges",
        f"/display/{signer.sign('projector', event.id or 0, 1)}",
    ]
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)
        assert page.evaluate("window.__xss") is None, path
        assert page.evaluate("parent.__xss") is None, path
        assert page.locator("body").is_visible(), path
    assert dialogs == []
    # Shown exactly as typed.
    page.goto(f"/e/{code}/reports/{topic.id}")
    body = page.locator("#report-body")
    for payload in PAYLOADS:
        expect(body).to_contain_text(payload)
    assert page.locator("#report-body a[href^='javascript']").count() == 0
    assert page.locator("#report-body strong", has_text="bold").count() == 0
