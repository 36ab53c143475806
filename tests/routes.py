"""The app's routes, as the tests that must cover every one of them list them."""

from typing import Any

from fastapi import FastAPI


def all_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of everything the app answers (mounted static files as GET)."""
    routes: Any = app.routes
    try:  # newer FastAPI keeps included routers whole in app.routes
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI lists every route there
        pass
    else:
        routes = iter_route_contexts(routes)
    return {
        (method, route.path)
        for route in routes
        if route.path is not None
        for method in (route.methods or {"GET"})
        if method != "HEAD"
    }
