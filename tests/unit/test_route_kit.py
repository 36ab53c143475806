"""The route kit (app/web/kit): what a route declares, and what the kit does with it.

Routes here are written the way ARCHITECTURE.md shows; the app is a bare FastAPI app with
the kit's router, so these tests say what the kit does on its own."""

import re
from pathlib import Path
from typing import Annotated, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from app.services.errors import Invalid, NotAllowed, NotFound, Refused
from app.web.kit.common import see_other
from app.web.kit.deps import FormDep
from app.web.kit.forms import named_by_the_form, valid
from app.web.kit.pages import Asking, asking
from app.web.kit.routing import Router

ROOT = Path(__file__).resolve().parents[2]
ROUTE_FOLDERS = ["participant", "facilitator", "organiser", "public", "api"]
# The machinery a route module must not need (issue 24): the kit does it for them.
MACHINERY = [
    "OneTripRoute",
    "LookedUpInThread",
    "finish_with",
    "quick_write",
    "writing_on_the_loop",
    "memory_only",
    "OneWriter",
    "VersionedParts",
    "run_in_threadpool",
    "CSRF_PLACEHOLDER",
    "JITTER_PLACEHOLDER",
    "agenda_etag",
    "ETag",
    "request_session",
]


def test_route_modules_use_none_of_the_machinery() -> None:
    found = []
    for folder in ROUTE_FOLDERS:
        for path in sorted((ROOT / "app" / "web" / folder).glob("*.py")):
            text = path.read_text()
            found += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in MACHINERY
                if re.search(rf"\b{name}\b", text)
            ]
    assert not found, "route modules reach into the kit's machinery:\n" + "\n".join(found)


class Words(BaseModel):
    title: str = Field(min_length=1, max_length=20)


SAVED: list[str] = []


def _page(request: Request, values: dict[str, str], errors: dict[str, str], error: str) -> Response:
    """The form's page: the words typed, each field's message, the reason at the top."""
    fields = "".join(f"<p id='{k}-error'>{v}</p>" for k, v in errors.items())
    typed = values.get("title", "")
    return HTMLResponse(f"<p id='top'>{error}</p>{fields}<input value='{typed}'>")


def _form_page(request: Request) -> Response:
    return _page(request, {}, {}, "")


class Visitor(Asking):
    """Who asks: looked up in the thread that answers; the page depends on a version."""

    looked_up_in: ClassVar[list[str]] = []

    def __init__(self, request: Request, version: int = 1) -> None:
        super().__init__(request, session=None)  # type: ignore[arg-type]
        self.version = version

    def look_up(self) -> None:
        self.not_on_the_event_loop()
        Visitor.looked_up_in.append("thread")

    def freshness(self) -> tuple[object, ...]:
        return (self.version,)


VisitorDep = Annotated[Visitor, asking(Visitor)]


def _app() -> TestClient:
    router = Router()

    @router.get("/words")
    def words_page(request: Request) -> Response:
        return _form_page(request)

    @router.post("/words", again=_page)
    def save_words(request: Request, form: FormDep) -> Response:
        data = valid(Words, form, "title")
        if data.title == "taken":
            raise Refused("Someone took that title a moment ago.", "title")
        if data.title == "odd":
            raise Invalid("Please use a real title.", "title")
        if data.title == "not yours":
            raise NotAllowed("Only its convener can change it.")
        if data.title == "gone":
            raise NotFound("There is no such topic.")
        if data.title == "form gone":
            with named_by_the_form():
                raise NotFound("That room was removed meanwhile.")
        SAVED.append(data.title)
        return see_other("/words")

    @router.post("/tap", tap=True)
    def tap(form: FormDep) -> Response:
        SAVED.append(str(form.get("title")))
        return Response(status_code=204)

    @router.get("/mine")
    def mine(me: VisitorDep) -> Response:
        return me.fresh(lambda: HTMLResponse(f"version {me.version}"))

    app = FastAPI()
    app.include_router(router)

    @app.middleware("http")
    async def csrf_state(request: Request, call_next):  # type: ignore[no-untyped-def]
        request.state.csrf_token = "token-of-this-browser"
        return await call_next(request)

    for kind, status in ((NotFound, 404), (NotAllowed, 403), (Refused, 409), (Invalid, 422)):

        def answer(_request: Request, exc: Exception, status: int = status) -> Response:
            return HTMLResponse(str(exc), status_code=status)

        app.add_exception_handler(kind, answer)
    return TestClient(app)


def test_a_form_that_does_not_fit_is_shown_again_with_the_words_and_the_message() -> None:
    with _app() as client:
        shown = client.post("/words", data={"title": "x" * 30})
        assert shown.status_code == 422
        assert "value='" + "x" * 30 + "'" in shown.text
        assert "id='title-error'" in shown.text and "20 characters" in shown.text
        assert SAVED[-1:] != ["x" * 30]


def test_a_refusal_is_a_conflict_shown_by_its_field_and_bad_input_is_422() -> None:
    with _app() as client:
        taken = client.post("/words", data={"title": "taken"})
        assert taken.status_code == 409
        assert "Someone took that title" in taken.text and "value='taken'" in taken.text
        odd = client.post("/words", data={"title": "odd"})
        assert odd.status_code == 422 and "Please use a real title." in odd.text


def test_not_found_and_not_allowed_are_never_shown_again() -> None:
    with _app() as client:
        gone = client.post("/words", data={"title": "gone"})
        assert gone.status_code == 404 and "value=" not in gone.text
        theirs = client.post("/words", data={"title": "not yours"})
        assert theirs.status_code == 403 and "value=" not in theirs.text
        # What the form named is gone: a refusal by the form, the words kept.
        meanwhile = client.post("/words", data={"title": "form gone"})
        assert meanwhile.status_code == 409 and "value='form gone'" in meanwhile.text


def test_a_saved_form_goes_on_and_a_tap_is_done() -> None:
    with _app() as client:
        saved = client.post("/words", data={"title": "Warm spaces"}, follow_redirects=False)
        assert saved.status_code == 303 and SAVED[-1] == "Warm spaces"
        assert client.post("/tap", data={"title": "tapped"}).status_code == 204
        assert SAVED[-1] == "tapped"


def test_who_asks_is_looked_up_in_the_answering_thread_and_a_page_is_304_while_fresh() -> None:
    Visitor.looked_up_in.clear()
    with _app() as client:
        first = client.get("/mine?version=3")
        assert first.status_code == 200 and first.text == "version 3"
        assert Visitor.looked_up_in == ["thread"]
        etag = first.headers["etag"]
        again = client.get("/mine?version=3", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.text == ""
        changed = client.get("/mine?version=4", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.text == "version 4"


def test_a_refused_form_page_may_say_its_own_status() -> None:
    """A page shown again that says 422 itself keeps it (a set-up section says so)."""

    def page(values: dict[str, str], error: str) -> Response:
        return HTMLResponse(error, status_code=422)

    router = Router()

    @router.post("/x", again=page)
    def refuse(form: FormDep) -> Response:
        raise Refused("No.")

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        assert client.post("/x", data={"a": "1"}).status_code == 422


def test_form_data_reaches_the_page_shown_again_with_ticked_boxes_joined() -> None:
    seen: list[dict[str, str]] = []

    def page(values: dict[str, str], form: FormData) -> Response:
        seen.append(values)
        return HTMLResponse("again")

    router = Router()

    @router.post("/y", again=page)
    def refuse(form: FormDep) -> Response:
        raise Refused("No.")

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        client.post("/y", data={"themes": ["1", "2"], "title": "T"})
    assert seen == [{"themes": "1,2", "title": "T"}]
