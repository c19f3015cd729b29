"""No import circle among cellsearch's own modules: the imports at module level, those under `if TYPE_CHECKING:`
included (a circle there is still one for every reader and type checker), read with ast, not run."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("search", "reports"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    deps = set()

    def visit(body) -> None:
        for node in body:
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {d for d in deps if d in modules}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    state, stack, circles = {}, [], []

    def walk(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for dep in sorted(graph[module] - {module}):
            if state.get(dep) == "open":
                circles.append([*stack[stack.index(dep):], dep])
            elif dep not in state:
                walk(dep)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module)
    return circles


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_module_of_search_or_reports_imports_itself_in_a_circle():
    modules = _modules()
    assert "search.datasets.text_csv" in modules and "reports.verdict" in modules
    circles = _circles({name: _imports(path, modules) for name, path in modules.items()})
    assert circles == [], "\n".join(" -> ".join(c) for c in circles)
