"""Jinja2 rendering: a whole page, or one named block of it for htmx."""

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from app import i18n
from app.config import ROOT
from app.models.event import DEFAULT_PRINCIPLES
from app.security import shown_join_code
from app.web.kit.assets import static_url

HTMX = "vendor/htmx-2.0.11.min.js"
HTMX_SSE = "vendor/htmx-ext-sse-2.2.4.min.js"


def _local(moment: datetime | None, zone: Any, style: str = "time") -> str:
    """A stored UTC moment as the clock at the venue shows it, in the reader's language."""
    return i18n.when(moment, zone, style)


def _csrf_field(token: str) -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(token))


env = Environment(
    loader=FileSystemLoader(ROOT / "templates"),
    autoescape=select_autoescape(["html", "xml", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
# Templates look the text up; Jinja fills in the variables itself, escaping them.
env.install_gettext_callables(  # type: ignore[attr-defined]
    lambda message: i18n.translations(i18n.current()).gettext(message),
    lambda singular, plural, n: i18n.translations(i18n.current()).ngettext(singular, plural, n),
    newstyle=True,
)
env.filters["local"] = _local
env.filters["code"] = shown_join_code
env.globals["HTMX"] = HTMX
env.globals["HTMX_SSE"] = HTMX_SSE
env.globals["LANGUAGES"] = i18n.LANGUAGES
env.globals["language"] = i18n.current
env.globals["direction"] = i18n.direction
env.filters["principles"] = lambda text: i18n.gettext(text) if text == DEFAULT_PRINCIPLES else text
env.filters["day"] = lambda value, style="date": i18n.when(value, None, style)
# Form macros are globals so that a block rendered on its own (for htmx) has them too.
_macros = env.get_template("macros.html").module
env.globals.update(
    field=_macros.field,  # type: ignore[attr-defined]
    select=_macros.select,  # type: ignore[attr-defined]
    checkbox=_macros.checkbox,  # type: ignore[attr-defined]
    form_error=_macros.form_error,  # type: ignore[attr-defined]
)


def follow_template_edits(on: bool) -> None:
    """Whether each page first looks on disk for a newer template (while developing): a
    look per template per page, a twentieth of a wall page's time, measured."""
    env.auto_reload = on


def wants_fragment(request: Request) -> bool:
    """Whether htmx asked for just a part of the page."""
    return request.headers.get("HX-Request") == "true" and "HX-Boosted" not in request.headers


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The page, or only `block` of it when htmx asked for a fragment."""
    ctx = _context(request, getattr(request.state, "csrf_token", ""), context)
    tmpl = env.get_template(template)
    if block is not None and wants_fragment(request):
        html = "".join(tmpl.blocks[block](tmpl.new_context(ctx)))
    else:
        html = tmpl.render(ctx)
    return HTMLResponse(html, status_code=status_code)


def render_part(
    request: Request | None,
    template: str,
    context: dict[str, Any],
    *,
    csrf_token: str = "",
    block: str | None = None,
) -> str:
    """A template (or one block of it) as a string, with `csrf_token` in its forms (a
    placeholder, for sharing)."""
    tmpl = env.get_template(template)
    ctx = _context(request, csrf_token, context)
    if block is not None:
        return "".join(tmpl.blocks[block](tmpl.new_context(ctx)))
    return tmpl.render(ctx)


def _context(
    request: Request | None, csrf_token: str, context: dict[str, Any] | None
) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "request": request,
        "csrf_token": csrf_token,
        "csrf_field": _csrf_field(csrf_token),
        "static": static_url,
    }
    ctx.update(context or {})
    return ctx
