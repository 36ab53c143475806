"""Schemathesis fuzzes every operation of the OpenAPI document, the pages and the JSON API: no
answer is a server error, and every answer's status, media type and body are documented.

The fuzzer is let in as people are: an organiser who logged in and then opened their
participant's personal link on the same phone (one browser that organises, facilitates and
takes part), sending the CSRF token its pages carry, and with an API token for /api/v1; then a
participant alone on the participant pages; then a stranger, refused as documented. Path
parameters, and the form fields and query parameters that name rows, are drawn from the rows of
a real event (or now and then left as the fuzzer made them), so most requests reach the route's
code. Every operation that changes anything starts from the event made afresh, so none is fuzzed
against what another one removed.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update
from sqlmodel import col, select

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models import (
    Attendance,
    Event,
    Organiser,
    Participant,
    Pitch,
    ProjectorView,
    Role,
    metadata,
)
from app.models.event import ThemeCreate
from app.models.live import AnnouncementCreate
from app.models.outcomes import (
    ActionForm,
    ActionStatus,
    ContributionCreate,
    ContributionKind,
    GroupForm,
    PledgeForm,
)
from app.security import LinkSigner
from app.services import (
    accounts,
    contributions,
    convergence,
    marketplace,
    pledges,
    policy,
    taking_part,
)
from app.services import actions as action_service
from app.services import events as event_service
from app.services import live as live_service
from app.web.kit.middleware import UNSAFE_METHODS
from tests.conftest import claim, csrf_token, log_in
from tests.factories import Factory, placed_topic

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation, so that the file runs in about a minute on SQLite.
EVERYONE_EXAMPLES = 20
PARTICIPANT_EXAMPLES = 10
STRANGER_EXAMPLES = 3
FUZZING = settings(
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass
class World:
    """A real event with a row of every kind, and the browsers of the people in it."""

    code: str
    ids: dict[str, list[int]]
    tokens: dict[str, str]
    api_token: str
    everyone: dict[str, str]  # the organiser's browser, also their participant's
    participant: dict[str, str]  # a participant's browser
    stranger: dict[str, str]  # a browser that has only been shown a page


@dataclass
class Tally:
    """What the fuzzer sent, what came back, and what failed."""

    sent: int = 0
    statuses: Counter[int | str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings, database: Database) -> Iterator[FastAPI]:
    # The fuzzer posts far faster than people: limits a hundred times the rest of the suite's.
    yield create_app(settings.model_copy(update={"rate_limit_scale": 1000}))
    shutdown_lifespans()


@pytest.fixture(scope="module")
def schema(fuzzed_app: FastAPI) -> Any:
    # An event stream never ends: it is read up to its first event.
    config = schemathesis.Config.from_dict({"max-stream-events": 1})
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed_app, config=config)


class Playground:
    """Makes the event afresh for the fuzzer (the organisers' accounts are made once)."""

    def __init__(self, make: Factory, browser: TestClient) -> None:
        self.make = make
        self.signer: LinkSigner = browser.app.state.signer  # type: ignore[attr-defined]
        self.organiser = make.organiser("fuzz@example.org")
        self.helper = make.organiser("helper@example.org", "Hana Helper")
        self.browser = browser
        log_in(browser, self.organiser.email)
        # A participant's own phone: no organiser has logged in on it.
        self.phone = TestClient(browser.app, follow_redirects=False)
        self.stranger = {"openspace_csrf": csrf_token(TestClient(browser.app))}

    def fresh(self) -> World:
        with self.make.database.write() as session:
            for table in reversed(metadata.sorted_tables):
                if table.name != Organiser.__tablename__:
                    session.execute(table.delete())
            # A log-out or "sign out everywhere" the fuzzer sent ended the organisers'
            # sign-ins (every copy of the cookie): the next operation starts signed in again.
            session.execute(
                update(Organiser).values(
                    session_generation=1, failed_logins=0, login_locked_until=None
                )
            )
        return self._world()

    def _world(self) -> World:
        make = self.make
        event = make.event(self.organiser, name="Łódź — اردو day", starts_on=date(2027, 5, 4))
        morning = make.slot(event, time(10, 0), time(11, 0))
        afternoon = make.slot(event, time(14, 0), time(15, 0))
        hall = make.space(event, "Hall", 50)
        make.space(event, "Garden", 12)
        first = placed_topic(make, event, morning, hall, "Transport")
        second = placed_topic(make, event, afternoon, hall, "Housing")
        me = make.participant(event, "Zażółć Gęślą", "zazolc@example.pl", share=True)
        with make.database.write() as session:
            event = session.get_one(Event, event.id)
            theme = event_service.add_theme(session, event, ThemeCreate(name="Mobility"))
            topic = marketplace.topic_of(session, event, first.id or 0)
            marketplace.co_convene(session, topic, me)
            marketplace.open_marketplace(session, event, True)
            live_service.queue_pitch(session, event, topic, me)
            announcement = live_service.announce(session, event, AnnouncementCreate(text="Lunch"))
            contribution = contributions.contribute(
                session,
                event,
                topic,
                me,
                ContributionCreate(kind=ContributionKind.key_point, body="Night buses"),
            )
            actions = [
                action_service.add_action(
                    session,
                    event,
                    marketplace.topic_of(session, event, on.id or 0),
                    me,
                    ActionForm(title=title, status=ActionStatus.agreed),
                    owner_id=me.id,
                    theme_ids=[theme.id or 0],
                )
                for on, title in ((first, "Free bus passes"), (second, "Warm rooms"))
            ]
            taking_part.set_taking_part(
                session, event, topic, policy.participant(me), name="Guest from the bus"
            )
            named = session.exec(
                select(Attendance).where(col(Attendance.participant_id).is_(None))
            ).one()
            pledges.save_pledge(session, event, me, PledgeForm(text="Take the bus on Mondays"))
            convergence.open_vote(session, event, True, 5)
            group = convergence.group_actions(
                session, event, [actions[0].id or 0], GroupForm(name="Buses")
            )
            link = event_service.create_facilitator_link(session, event, "Door")
            event_service.add_team_member(session, event, self.helper.email, "", Role.facilitator)
            _used, api_token = accounts.create_api_token(session, self.organiser, "fuzz")
            spare, _secret = accounts.create_api_token(session, self.organiser, "spare")
            people = session.exec(select(Participant.id).where(Participant.event_id == event.id))
            ids = {
                "event_id": [event.id or 0],
                "topic_id": [first.id or 0, second.id or 0],
                "space_id": [hall.id or 0],
                "slot_id": [morning.id or 0, afternoon.id or 0],
                "theme_id": [theme.id or 0],
                "action_id": [action.id or 0 for action in actions],
                "contribution_id": [contribution.id or 0],
                "report_id": [contribution.report_id],
                "attendance_id": [named.id or 0],
                "announcement_id": [announcement.id or 0],
                "pitch_id": [int(i or 0) for i in session.exec(select(Pitch.id))],
                "group_id": [group.id or 0],
                "organiser_id": [self.helper.id or 0],
                "link_id": [link.id or 0],
                "token_id": [spare.id or 0],
                "participant": [int(pid or 0) for pid in people],
            }
            tokens = {
                "/a/": self.signer.sign("action", ids["action_id"][0], actions[0].link_version),
                "/display/": self.signer.sign("projector", event.id or 0, event.projector_version),
                "/f/": self.signer.sign("facilitator", link.id or 0),
                "/e/": self.signer.sign("device", me.id or 0, me.link_version),
            }
            code = event.join_code
        # Each browser opens the participant's personal link ("continue on this phone").
        for browser in (self.browser, self.phone):
            opened = claim(browser, f"/e/{code}/continue/{tokens['/e/']}")
            assert opened.status_code == 303, opened.text
        return World(
            code,
            ids,
            tokens,
            api_token,
            dict(self.browser.cookies),
            dict(self.phone.cookies),
            self.stranger,
        )


def path_options(world: World, path: str, name: str) -> list[Any]:
    """Real values for a path parameter of this path."""
    if name == "code":
        return [world.code]
    if name == "token":
        return [token for prefix, token in world.tokens.items() if path.startswith(prefix)]
    if name == "fmt":
        return ["html", "md", "docx"] if "proceedings" in path else ["csv", "xlsx", "json", "ics"]
    if name == "action":
        return ["next", "pause"] if "/pitches/" in path else ["sign-up", "leave", "waitlist"]
    if name == "kind":
        return ["report", "action"] if "/vote/" in path else ["contributions", "actions"]
    if name == "move":
        return ["place", "take"]
    if name in ("row_id", "target_id"):
        rows = "contribution_id" if "/hide" in path else "report_id"
        return world.ids[rows] + world.ids["action_id"]
    return world.ids.get(name, [])


def field_options(world: World) -> dict[str, list[str]]:
    """Real values for the form fields and query parameters that name rows or choices."""
    ids = {name: [str(i) for i in values] for name, values in world.ids.items()}
    slot, space = ids["slot_id"][0], ids["space_id"][0]
    home = f"/e/{world.code}"
    return {
        "participant": ids["participant"],
        "participant_id": ids["participant"],
        "owner": ids["participant"],
        "person": ids["participant"],
        "topic": ids["topic_id"],
        "topic_id": ids["topic_id"],
        "keep": ids["topic_id"],
        "duplicate": ids["topic_id"][::-1],
        "themes": ids["theme_id"],
        "actions": ids["action_id"],
        "fragment_id": ids["topic_id"] + ids["slot_id"],
        "cell": [f"{slot}:{space}", ""],
        "place": [f"{topic}@{slot}:{space}" for topic in ids["topic_id"]],
        "view": list(ProjectorView),
        "fragment": ["slot", "card", "status"],
        "next": [f"{home}/wall", f"{home}/topics/{ids['topic_id'][0]}"],
        "version": ["1", "2"],
        "code": [world.code],
        **{flag: ["1", "0"] for flag in ("open", "closed", "hidden", "interested", "done")},
    }


def real(data: st.DataObject, values: dict[str, Any], name: str, options: list[Any]) -> None:
    """Put one of the real values in, four times in five (else keep what the fuzzer made)."""
    if options and data.draw(st.integers(0, 4)) < 4:
        values[name] = data.draw(st.sampled_from(options))


def fuzz(operation: Any, world: World, who: str, examples: int, tally: Tally) -> None:
    """Send `examples` cases of one operation, with real values drawn in, and check each answer."""
    choices = field_options(world)
    path = operation.path
    cookies: dict[str, str] = getattr(world, who)
    headers = {"X-CSRF-Token": cookies["openspace_csrf"]}
    if path.startswith("/api/") and who == "everyone":
        headers["Authorization"] = f"Bearer {world.api_token}"

    @settings(FUZZING, max_examples=examples)
    @given(case=operation.as_strategy(), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        for name in list(case.path_parameters or {}):
            real(data, case.path_parameters, name, path_options(world, path, name))
        for values in (case.query, case.body):
            if isinstance(values, dict):
                for name in sorted(set(values) & set(choices)):
                    real(data, values, name, choices[name])
        response = case.call_and_validate(headers=headers, cookies=cookies, checks=CHECKS)
        tally.sent += 1
        location = (response.headers.get("location") or [""])[0]
        tally.statuses["login" if location.startswith("/login") else response.status_code] += 1

    try:
        run()
    except Exception as failure:
        tally.failures.append(f"{operation.label}: {failure}")


def fuzz_all(
    schema: Any, playground: Playground, who: str, examples: int, *, only: str = "", afresh: bool
) -> Tally:
    """Fuzz the operations under `only` as `who`, reads first; with `afresh`, each operation
    that changes things gets the event made afresh."""
    tally = Tally()
    world = playground.fresh()
    chosen = [result.ok() for result in schema.get_all_operations()]
    chosen = [op for op in chosen if op.path.startswith(only)]
    for operation in sorted(chosen, key=lambda op: op.method.upper() in UNSAFE_METHODS):
        if afresh and operation.method.upper() in UNSAFE_METHODS:
            world = playground.fresh()
        fuzz(operation, world, who, examples, tally)
    assert not tally.failures, "\n\n".join(tally.failures)
    assert tally.sent >= len(chosen) * examples // 2, tally
    return tally


def refused(tally: Tally) -> int:
    """Answers that refused the sender: log in first, no API token, not for you."""
    return sum(tally.statuses[status] for status in ("login", 401, 403))


def test_every_operation_answers_as_documented(
    schema: Any, fuzzed_app: FastAPI, make: Factory, client: TestClient
) -> None:
    """Pages, forms and the API, by a browser that organises, facilitates and takes part."""
    playground = Playground(make, client)
    tally = fuzz_all(schema, playground, "everyone", EVERYONE_EXAMPLES, afresh=True)
    # It got past the log-in, the CSRF check and the roles: the refusals are of what was sent.
    assert refused(tally) < tally.sent / 20, tally


def test_participant_pages_answer_as_documented(
    schema: Any, fuzzed_app: FastAPI, make: Factory, client: TestClient
) -> None:
    """The participant pages, by a participant's own phone."""
    playground = Playground(make, client)
    tally = fuzz_all(
        schema, playground, "participant", PARTICIPANT_EXAMPLES, only="/e/{code}", afresh=True
    )
    # The phone is recognised: almost nothing sends it to log in...
    assert tally.statuses["login"] + tally.statuses[401] < tally.sent / 20, tally
    # ...and the rules that keep others' topics and reports theirs (policy.py: edit or
    # withdraw a topic, take someone off) refuse only a minority of what it tries.
    assert tally.statuses[403] < tally.sent / 5, tally


def test_strangers_are_refused_as_documented(
    schema: Any, fuzzed_app: FastAPI, make: Factory, client: TestClient
) -> None:
    """Every operation, by a browser that is nobody yet (and no API token)."""
    playground = Playground(make, client)
    tally = fuzz_all(schema, playground, "stranger", STRANGER_EXAMPLES, afresh=False)
    assert refused(tally) > tally.sent / 2, tally
