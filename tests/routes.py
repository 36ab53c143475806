"""The app's routes, as the tests that must cover every one of them list them."""

from fastapi import FastAPI

from app.web.api.schema import every_route


def all_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of everything the app answers (mounted static files as GET)."""
    return {
        (method, route.path)
        for route in every_route(app)
        if route.path is not None
        for method in (route.methods or {"GET"})
        if method != "HEAD"
    }
