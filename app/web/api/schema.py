"""The pages in the OpenAPI document, beside the JSON API.

FastAPI documents what a route declares. A page declares little: it reads its posted form
raw, validates it itself, and answers with HTML, a redirect or a file. So each page's entry is
completed here from what its code does: the code of the route, of its dependencies and of the
app.web helpers they use. Its form fields are the names that code reads from the form, typed
by the model it validates them with; its answers are the statuses that code names, the media
types it sends, and those of the app's error pages for what it raises. A new page is
documented the moment it exists.
"""

import ast
import inspect
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.templating import render
from app.web.kit.common import download
from app.web.kit.deps import get_session
from app.web.kit.forms import form_values, validate
from app.web.kit.middleware import UNSAFE_METHODS

PAGES = "pages"
TAGS = [
    {
        "name": PAGES,
        "description": "The pages and their forms, as a browser uses them: the identity "
        "cookie, and the CSRF token in every form or in the X-CSRF-Token header.",
    },
    {"name": "api", "description": "The JSON API, for organisers holding an API token."},
]
HTML = "text/html"
# Statuses a page's code names as numbers (a page never computes one).
STATUSES = frozenset({204, 303, 304, 400, 403, 404, 409, 422, 429})
# Exceptions the app's error handlers turn into an answer of their own.
HANDLED = {"LoginRequired": 303, "NotJoined": 303, "NotFound": 404, "Refused": 409}
WHY = {
    200: "The page (for htmx, the part of it that changed), file or event stream",
    204: "Nothing to show",
    303: "See other: on to the next page, to log in, or to join the event first",
    304: "Not modified: the browser's copy (its ETag) is current",
    400: "The request was not right",
    403: "Refused: not this visitor's page, or the form's CSRF token is missing or wrong",
    404: "No such thing here",
    409: "Refused by the event's rules (the page says why)",
    413: "The form is larger than the server takes (OPENSPACE_MAX_BODY_BYTES)",
    422: "A value in the address or the form is not in the expected form (the page says which)",
    429: "Too many posts in a short time; try again after Retry-After seconds",
    503: "The database cannot store or be reached just now (what was sent is given back); "
    "send it again after Retry-After seconds",
}
# A live page's event stream, described event by event.
EVENT_STREAM = "text/event-stream"
STREAM_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}
CSRF_FIELD = {
    "type": "string",
    "description": "This browser's CSRF token (its openspace_csrf cookie); "
    "or send it in the X-CSRF-Token header.",
}


@dataclass
class Reading:
    """What a page's code does, as far as its documentation goes."""

    statuses: set[int] = field(default_factory=set)
    media: set[str] = field(default_factory=set)
    renders: bool = False
    calls_domain: bool = False
    uses_database: bool = False
    models: list[type[BaseModel]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    query: list[str] = field(default_factory=list)


def document_pages(app: FastAPI) -> None:
    """Put the app's pages in its OpenAPI document, each described from its code."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            describe_pages(app, generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe_pages(app: FastAPI, document: dict[str, Any]) -> None:
    """Complete the entries FastAPI made for the pages (every route outside /api/)."""
    document["tags"] = TAGS
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for route in _routes(app):
        if route.path_format.startswith("/api/") or not route.include_in_schema:
            continue
        for method in route.methods:
            operation = document["paths"][route.path_format].get(method.lower())
            if operation is None:
                continue
            reading = read(_code_roots(route), unsafe=method in UNSAFE_METHODS)
            operation["tags"] = [PAGES]
            parameters = operation.setdefault("parameters", [])
            named = {parameter["name"] for parameter in parameters}
            parameters.extend(
                {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                for name in dict.fromkeys(reading.query)
                if name not in named
            )
            if method in UNSAFE_METHODS:
                operation["requestBody"] = _form_body(reading, components)
            operation["responses"] = _responses(reading, operation)
            if method in UNSAFE_METHODS:  # app/web/middleware.py's BodyLimitMiddleware
                operation["responses"]["413"] = {
                    "description": WHY[413],
                    "content": {HTML: {"schema": {"type": "string"}}},
                }


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


def _routes(app: FastAPI) -> Iterator[Any]:
    for route in every_route(app):
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def _code_roots(route: Any) -> list[Callable[..., Any]]:
    """The route's endpoint and every dependency it runs."""
    roots = [route.endpoint]
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if dependency.call is not None:
            roots.append(dependency.call)
        pending.extend(dependency.dependencies)
    return roots


def read(roots: list[Callable[..., Any]], *, unsafe: bool) -> Reading:
    """Read the code the roots run in app.web, following the helpers it names."""
    reading = Reading()
    seen: set[Callable[..., Any]] = set()
    pending = list(roots)
    while pending:
        function = inspect.unwrap(pending.pop())
        if function in seen or not _ours(function):
            continue
        seen.add(function)
        if function is get_session:
            reading.uses_database = True
        tree = _tree(function)
        if not unsafe and _only_for_unsafe_methods(tree):
            continue
        scope = function.__globals__
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, int):
                if node.value in STATUSES:
                    reading.statuses.add(node.value)
            elif isinstance(node, ast.Raise) and node.exc is not None:
                raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(raised, ast.Name) and raised.id in HANDLED:
                    reading.statuses.add(HANDLED[raised.id])
            elif isinstance(node, ast.Name):
                pending.extend(_named(scope, node.id))
            elif isinstance(node, ast.Call):
                pending.extend(_read_call(reading, node, scope))
    return reading


def _ours(function: object) -> bool:
    return isinstance(function, types.FunctionType) and function.__module__.startswith("app.web")


@cache
def _tree(function: types.FunctionType) -> ast.AST:
    return ast.parse(textwrap.dedent(inspect.getsource(function)))


def _only_for_unsafe_methods(tree: ast.AST) -> bool:
    """Whether the function begins `if request.method not in UNSAFE_METHODS: return`."""
    definition = next(ast.iter_child_nodes(tree))
    body = [
        statement
        for statement in getattr(definition, "body", [])
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
    ]
    first = body[0] if body else None
    return (
        isinstance(first, ast.If)
        and isinstance(first.test, ast.Compare)
        and isinstance(first.test.ops[0], ast.NotIn)
        and isinstance(first.test.comparators[0], ast.Name)
        and first.test.comparators[0].id == "UNSAFE_METHODS"
        and isinstance(first.body[0], ast.Return)
    )


def _named(scope: dict[str, Any], name: str) -> list[Any]:
    """The function a name stands for; for one of our classes, the code its objects run
    when made and when their properties are read (a dependency may look things up lazily)."""
    found = scope.get(name)
    if isinstance(found, type) and found.__module__.startswith("app.web"):
        members = [vars(found).get("__init__")]
        members += [m.fget for m in vars(found).values() if isinstance(m, property)]
        # (a dataclass's own __init__ is generated: it has no source, and runs none of ours)
        return [m for m in members if _ours(m) and _has_source(m)]
    return [found] if _ours(found) else []


def _has_source(function: Any) -> bool:
    return str(function.__code__.co_filename).endswith(".py")


def _read_call(reading: Reading, call: ast.Call, scope: dict[str, Any]) -> list[Any]:
    """Note what a call tells of the page; the app.web functions it may run, to read next."""
    callee = _value(call.func, scope)
    if getattr(callee, "__module__", "").startswith("app.services"):
        reading.calls_domain = reading.uses_database = True
    if callee is render or callee is HTMLResponse:  # a page, drawn here or shared
        reading.renders = True
    elif callee is download and len(call.args) > 1:
        reading.media.update(_texts(call.args[1], scope))
    elif callee is validate and call.args:
        reading.models.extend(_models(call.args[0], scope))
    elif callee is form_values:
        reading.fields.extend(_texts(ast.Tuple(elts=call.args[1:]), scope))
    elif isinstance(call.func, ast.Attribute) and call.func.attr in {"get", "getlist"}:
        owner = call.func.value
        name = _texts(call.args[0], scope) if call.args else []
        if isinstance(owner, ast.Name) and owner.id == "form":
            reading.fields.extend(name)
        elif isinstance(owner, ast.Attribute) and owner.attr == "query_params":
            reading.query.extend(name)
    for keyword in call.keywords:
        if keyword.arg == "media_type":
            reading.media.update(_texts(keyword.value, scope))
        elif keyword.arg == "model":
            reading.models.extend(_models(keyword.value, scope))
        elif keyword.arg == "fields":
            reading.fields.extend(_texts(keyword.value, scope))
    if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        if call.func.value.id not in scope:  # a method of one of our classes, on a variable
            return [
                method
                for value in scope.values()
                if isinstance(value, type) and value.__module__.startswith("app.web")
                for method in [getattr(value, call.func.attr, None)]
                if _ours(method)
            ]
        return [callee] if _ours(callee) else []
    return []


def _value(expression: ast.expr, scope: dict[str, Any]) -> Any:
    """What a name or a module's attribute stands for, if it is a global."""
    if isinstance(expression, ast.Name):
        return scope.get(expression.id)
    if isinstance(expression, ast.Attribute) and isinstance(expression.value, ast.Name):
        owner = scope.get(expression.value.id)
        if isinstance(owner, types.ModuleType):
            return getattr(owner, expression.attr, None)
    return None


def _texts(expression: ast.expr, scope: dict[str, Any]) -> list[str]:
    """The strings an expression can be: literals, constants, and entries of constant maps."""
    if isinstance(expression, ast.Constant):
        return [expression.value] if isinstance(expression.value, str) else []
    if isinstance(expression, ast.Tuple | ast.List):
        return [text for element in expression.elts for text in _texts(element, scope)]
    if isinstance(expression, ast.Starred):
        return _texts(expression.value, scope)
    if isinstance(expression, ast.Subscript):
        table = _value(expression.value, scope)
        if not isinstance(table, dict):
            return []
        key = expression.slice
        if isinstance(key, ast.Constant):
            return [str(table[key.value])] if key.value in table else []
        return [str(value) for value in table.values()]
    value = _value(expression, scope)
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple | list | frozenset):
        return [text for text in value if isinstance(text, str)]
    return []


def _models(expression: ast.expr, scope: dict[str, Any]) -> list[type[BaseModel]]:
    model = _value(expression, scope)
    return [model] if isinstance(model, type) and issubclass(model, BaseModel) else []


def _form_body(reading: Reading, components: dict[str, Any]) -> dict[str, Any]:
    """The posted form: the fields the code reads, typed by the model that validates them."""
    properties: dict[str, Any] = {"csrf_token": CSRF_FIELD}
    required: list[str] = []
    for model in reading.models:
        described = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in described.pop("$defs", {}).items():
            components.setdefault(name, definition)
        for name, typed in described["properties"].items():
            if name in reading.fields and name not in properties:
                properties[name] = typed
                if name in described.get("required", ()):
                    required.append(name)
    for name in reading.fields:
        properties.setdefault(name, {"type": "string"})
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        # Fields the page does not read are ignored.
        "additionalProperties": {"type": "string"},
    }
    if required:
        schema["required"] = required
    return {"content": {"application/x-www-form-urlencoded": {"schema": schema}}}


def _responses(reading: Reading, operation: dict[str, Any]) -> dict[str, Any]:
    statuses = set(reading.statuses)
    media = {kind.split(";")[0].strip() for kind in reading.media}
    if reading.renders:
        media.add(HTML)
    if media:
        statuses.add(200)
    if reading.calls_domain:
        statuses.update({404, 409})  # the domain may find nothing by that id, or refuse
    if reading.uses_database:
        statuses.add(503)
    if any(_may_be_malformed(parameter["schema"]) for parameter in operation["parameters"]):
        statuses.add(422)
    responses: dict[str, Any] = {}
    for status in sorted(statuses):
        answer: dict[str, Any] = {"description": WHY[status]}
        if status == 200:
            answer["content"] = {kind: _content(kind) for kind in sorted(media)}
        elif status == 303:
            answer["headers"] = {"Location": {"schema": {"type": "string"}}}
        elif status >= 400:
            answer["content"] = {HTML: {"schema": {"type": "string"}}}
        if status in (429, 503):
            answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        responses[str(status)] = answer
    return responses


def _content(media: str) -> dict[str, Any]:
    if media == EVENT_STREAM:
        return {"schema": STREAM_EVENT}
    if media.startswith("text/"):
        return {"schema": {"type": "string"}}
    if media.endswith("json"):
        return {}
    return {"schema": {"type": "string", "format": "binary"}}


def _may_be_malformed(schema: dict[str, Any]) -> bool:
    """Whether FastAPI may refuse a parameter's value (anything but free text)."""
    return schema.get("type") != "string" or bool(set(schema) - {"type", "title", "default"})
