"""Small pieces every router uses: redirects after a post, QR images, absolute links."""

import io

from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from segno import make_qr

from app.config import Settings

IDENTITY_COOKIE = "openspace"


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get: the browser fetches `url` after a successful form post."""
    return RedirectResponse(url, status_code=303)


def absolute(settings: Settings, path: str) -> str:
    """A link to hand out (QR codes, posters): the configured public address plus the path."""
    return settings.base_url.rstrip("/") + path


def qr_svg(data: str, *, scale: int = 8) -> Response:
    """A QR code of `data` as an SVG image."""
    buffer = io.BytesIO()
    make_qr(data, error="m").save(
        buffer, kind="svg", scale=scale, border=2, dark="#000", light="#fff", omitsize=True
    )
    return Response(
        buffer.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=300"},
    )


def qr_inline(data: str, label: str, css_class: str = "qr") -> Markup:
    """A QR code of `data` as SVG inside the page (printed pages and files carry their own)."""
    svg = make_qr(data, error="m").svg_inline(
        scale=6, border=2, omitsize=True, svgclass=css_class, title=label
    )
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


def safe_next(next_url: str | None, default: str) -> str:
    """A local path to go on to after logging in; anything else falls back to `default`."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    return default


def download(content: bytes, media_type: str, file_name: str) -> Response:
    """A file the browser saves (calendars, exports), never kept by shared caches."""
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{file_name}"',
            "Cache-Control": "private, no-store",
        },
    )


ICS = "text/calendar; charset=utf-8"
