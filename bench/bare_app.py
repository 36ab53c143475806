"""The baseline every benchmark reports against: a bare FastAPI app, none of ours.

Served by `common.start_bare` with the options `openspace serve` gives uvicorn, so a ratio to
it says what our app costs over FastAPI itself (our own `/healthz` already pays our
middleware: issue 25).
"""

from typing import Annotated

from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse
from jinja2 import DictLoader, Environment

app = FastAPI()
pages = Environment(
    loader=DictLoader(
        {
            "page.html": "<!doctype html><html lang=en><title>{{ title }}</title>"
            "<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul></html>"
        }
    ),
    autoescape=True,
)


@app.get("/sync")
def sync() -> dict[str, bool]:
    return {"ok": True}


@app.get("/async")
async def asynchronous() -> dict[str, bool]:
    return {"ok": True}


@app.get("/page")
def page() -> HTMLResponse:
    """A tiny Jinja page: what drawing any page costs FastAPI and Jinja alone."""
    return HTMLResponse(pages.get_template("page.html").render(title="Wall", items=range(10)))


@app.post("/form")
def form(csrf_token: Annotated[str, Form()]) -> dict[str, int]:
    """Reads a small form as a sign-up's POST carries one."""
    return {"length": len(csrf_token)}
