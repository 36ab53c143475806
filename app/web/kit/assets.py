"""Static files under names that change with their content, cached by browsers for a year.

`/static/css/app.3f9a1c2b7d.css` is `static/css/app.css` while its content hashes to that
name; a phone that has it never asks again, and a new release has new names. A name with an
old hash (a page cached before a release) still gets the current file, but only briefly
cached. Plain names work too, for anything outside our templates.
"""

import hashlib
import re
from functools import cache
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.config import ROOT

STATIC = ROOT / "static"
YEAR = "public, max-age=31536000, immutable"
BRIEFLY = "public, max-age=300"
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<suffix>\.[A-Za-z0-9]+)$")


@cache
def digest(path: str) -> str:
    """The first ten hex digits of the file's SHA-256 (read once per process)."""
    return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]


@cache
def static_url(path: str) -> str:
    """The address of a static file, named after its content (worked out once per process:
    every page asks it for each of its styles and scripts)."""
    file = Path(path)
    return f"/static/{file.with_name(f'{file.stem}.{digest(path)}{file.suffix}').as_posix()}"


def digest_of(names: list[str]) -> str:
    """One short name for a set of file names (which already name their content)."""
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:10]


class HashedStaticFiles(StaticFiles):
    """Serves `name.<hash>.ext` as `name.ext`, for a year when the hash is the current one."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        match = _HASHED.match(path)
        real = f"{match['stem']}{match['suffix']}" if match else path
        response = await super().get_response(real, scope)
        if response.status_code in (200, 304):
            current = match is not None and _current(real) == match["digest"]
            response.headers["Cache-Control"] = YEAR if current else BRIEFLY
        return response


def _current(path: str) -> str | None:
    try:
        return digest(path)
    except OSError:
        return None
