"""The layers hold: models → services → web, no import cycles, and templates never query.

Every import counts, those inside functions too: an import put off until a function runs is
still a dependency, and hiding a cycle that way is what this test is here to stop.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jinja2 import nodes

from app.templating import env

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("app.models", "app.services", "app.web")  # each may import those before it only
WEB_FRAMEWORKS = ("fastapi", "starlette")  # for app.web alone
# What only the database answers: a template calling one of these is querying.
QUERYING = {"exec", "execute", "query", "scalar", "scalars", "get_one", "commit", "flush"}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # a module of app, or the top-level name of a library
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.importer} imports {self.imported}"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> Iterator[Import]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from app.services import signups` names a module; `from app.db import Database`
            # names something in one.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name not in MODULES:
                name = name.split(".")[0]
            if name != module:
                yield Import(module, name, path, node.lineno)


GRAPH = {module: sorted(set(_imports(module, path)), key=str) for module, path in MODULES.items()}


def _within_app(module: str) -> list[Import]:
    return [i for i in GRAPH[module] if i.imported in MODULES]


def _layer(module: str) -> int | None:
    return next((n for n, layer in enumerate(LAYERS) if module.startswith(layer + ".")), None)


def _cycle_from(start: str) -> list[Import] | None:
    """A way back to `start` through the imports, if there is one."""
    seen = set()
    way: list[Import] = []

    def walk(module: str) -> bool:
        for step in _within_app(module):
            way.append(step)
            if step.imported == start:
                return True
            if step.imported not in seen:
                seen.add(step.imported)
                if walk(step.imported):
                    return True
            way.pop()
        return False

    return way if walk(start) else None


def _reached(start: str) -> dict[str, list[Import]]:
    """Every module of app that `start` imports, however indirectly, and the way there."""
    ways: dict[str, list[Import]] = {start: []}
    waiting = [start]
    while waiting:
        module = waiting.pop()
        for step in _within_app(module):
            if step.imported not in ways:
                ways[step.imported] = [*ways[module], step]
                waiting.append(step.imported)
    return ways


def test_the_app_has_no_import_cycle() -> None:
    cycles = {}
    for module in MODULES:
        cycle = _cycle_from(module)
        if cycle is not None:
            cycles[frozenset(step.importer for step in cycle)] = cycle
    assert not cycles, "Import cycles (move the shared piece where both may import it):\n" + (
        "\n\n".join("\n".join(map(str, cycle)) for cycle in cycles.values())
    )


def test_a_layer_imports_only_the_layers_below_it() -> None:
    upward = []
    for module in MODULES:
        layer = _layer(module)
        if layer is None:
            continue
        for reached, way in _reached(module).items():
            above = _layer(reached)
            if above is not None and above > layer:
                upward.append(way)
                continue
            frameworks = [i for i in GRAPH[reached] if i.imported in WEB_FRAMEWORKS]
            if frameworks and layer < LAYERS.index("app.web"):
                upward.append([*way, frameworks[0]])
    shortest = {way[-1]: way for way in sorted(upward, key=len, reverse=True)}
    assert not shortest, (
        "Models and services never import app.web or FastAPI; models never import services:\n"
        + "\n\n".join("\n".join(map(str, way)) for way in shortest.values())
    )


def test_templates_never_query() -> None:
    offences = []
    for path in sorted((ROOT / "templates").rglob("*")):
        if not path.is_file():
            continue
        tree = env.parse(path.read_text(), path.name, str(path))
        where = f"{path.relative_to(ROOT)}:"
        for name in tree.find_all(nodes.Name):
            if name.name == "session":
                offences.append(f"{where}{name.lineno}: uses the database session")
        for attribute in tree.find_all(nodes.Getattr):
            if attribute.attr == "session":
                offences.append(f"{where}{attribute.lineno}: reaches for a database session")
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Getattr) and call.node.attr in QUERYING:
                offences.append(f"{where}{call.lineno}: calls .{call.node.attr}()")
    assert not offences, "Templates show what they are given; they never query:\n" + "\n".join(
        offences
    )


def test_nothing_a_template_can_call_queries() -> None:
    reachable = {**env.globals, **env.filters}
    querying = {
        name: getattr(thing, "__module__", "") or ""
        for name, thing in reachable.items()
        if (getattr(thing, "__module__", "") or "").startswith(
            ("sqlalchemy", "sqlmodel", "app.services", "app.db")
        )
    }
    assert not querying, f"Templates could query through these globals and filters: {querying}"
