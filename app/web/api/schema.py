"""The app's routes as others read them: the JSON API's OpenAPI document, and the methods an
address takes (a 405's Allow header).

The document describes /api/v1 alone. The pages read their forms themselves and answer with
HTML for browsers; no API client can use them, and listed beside the API they drowned it.
"""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRouter
from starlette._utils import get_route_path

TAGS = [
    {
        "name": "api",
        "description": "The JSON API, for organisers holding an API token. Text is taken as "
        "a person meant it: control characters are dropped and the spaces around it trimmed, "
        "then its limits apply.",
    }
]


def document_api(app: FastAPI, api: APIRouter) -> None:
    """Make the app's OpenAPI document that of the JSON API's router alone."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=api.routes,
                tags=TAGS,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def every_route(app: FastAPI) -> Iterator[Any]:
    """Every route the app answers, those of included routers too."""
    routes: Any = app.routes
    try:  # newer FastAPI keeps included routers whole in app.routes
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI lists every route there
        pass
    else:
        routes = iter_route_contexts(routes)
    yield from routes


def allowed_methods(request: Request) -> str:
    """The methods the app takes at the request's address, for a 405's Allow header.

    Starlette's own 405 names the methods of the first route at that address only, where
    several routes may share it (GET /api/v1/events lists, POST adds).
    """
    path = get_route_path(request.scope)
    methods = {
        method
        for route in every_route(request.app)
        if (pattern := getattr(route, "path_regex", None)) and pattern.match(path)
        for method in getattr(route, "methods", None) or ()
    }
    return ", ".join(sorted(methods))
