"""The declared order of apps holds: imports point one way and no two modules import each other.

Order (README, Layout): core <- accounts <- projects <- conversations <- sharing <- organise
<- api, v1 <- chatbot. A module may import its own app and the apps before it; `api` and `v1`
are two doors side by side and import neither each other. Function-local imports count.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER = [
    "core",
    "accounts",
    "projects",
    "conversations",
    "sharing",
    "organise",
    "api",
    "v1",
    "chatbot",
]
RANK = {app: i for i, app in enumerate(ORDER)}
RANK["v1"] = RANK["api"]  # side by side
# Inside an app, models sit below selectors and services, which sit below the doors.
LOWER = {"models": 0, "selectors": 1, "services": 1}
DOORS = {"views", "consumers", "admin", "urls", "api", "v1"}


def _modules() -> dict[str, Path]:
    found = {}
    for app in ORDER:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> set[str]:
    """Return the project modules `module` imports anywhere in its body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    # Keep the longest known project module each name refers to.
    resolved = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            resolved.add(name)
    return resolved


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _kind(module: str) -> str:
    return next((p for p in module.split(".")[1:] if p in LOWER or p in DOORS), "")


def test_no_app_imports_an_app_after_it():
    wrong = []
    for module, targets in GRAPH.items():
        app = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other != app and RANK[other] >= RANK[app]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_models_selectors_and_services_import_no_door():
    wrong = []
    for module, targets in GRAPH.items():
        kind = _kind(module)
        if kind not in LOWER:
            continue
        for target in targets:
            other = _kind(target)
            if target.split(".")[0] != module.split(".")[0]:
                continue
            if other in DOORS or (other in LOWER and LOWER[other] > LOWER[kind]):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles_between_modules():
    # Tarjan's strongly connected components over the project's import graph.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH.get(node, ()):
            if target.startswith(f"{node}.") or node.startswith(f"{target}."):
                continue  # a package and its own submodules
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not cycles, cycles


def test_the_check_sees_a_wrong_import(tmp_path):
    """The parser finds function-local and relative imports (so the tests above can fail)."""
    source = tmp_path / "views.py"
    source.write_text("def f():\n    from ..conversations import services\n    import core.ids\n")
    found = _imports("projects.views", source)
    assert {"conversations.services", "core.ids"} <= found


def test_no_package_holds_more_than_30_percent_of_the_code():
    lines: dict[str, int] = {}
    for module, path in MODULES.items():
        if "migrations" in module.split("."):
            continue
        package = str(path.parent.relative_to(ROOT))
        lines[package] = lines.get(package, 0) + len(path.read_text(encoding="utf-8").splitlines())
    total = sum(lines.values())
    heavy = {p: f"{100 * n / total:.0f}%" for p, n in lines.items() if n > 0.3 * total}
    assert not heavy, heavy


def test_chatbot_only_wires():
    """The project package holds settings and URL/ASGI/WSGI wiring, no logic of its own."""
    wiring = {"chatbot", "chatbot.settings", "chatbot.urls", "chatbot.asgi", "chatbot.wsgi"}
    assert {m for m in MODULES if m.split(".")[0] == "chatbot"} <= wiring
