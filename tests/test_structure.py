"""Package structure: no import cycle between project modules, no oversized module.

An import cycle is counted on module-level imports only: imports inside functions and under
``if TYPE_CHECKING:`` do not run when a module is imported, so they cannot leave a module
partially initialised.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("attribution", "uplift", "experiments")
MAX_MODULE_LINES = 1000


def _modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Map every dotted module name of ``packages`` under ``root`` to its file."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run on import: the top level, ``if``/``try``/``with`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found.extend(_module_level_imports(node.body))
            found.extend(_module_level_imports(node.orelse))
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                found.extend(_module_level_imports(block))
            for handler in node.handlers:
                found.extend(_module_level_imports(handler.body))
        elif isinstance(node, ast.With):
            found.extend(_module_level_imports(node.body))
    return found


def _import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """``{module: project modules it imports at module level}``.

    ``from package import name`` depends on ``package.name`` when that is a module, else on
    ``package`` itself (its ``__init__``).
    """
    modules = _modules(root, packages)

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in _module_level_imports(ast.parse(path.read_text(), str(path)).body):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                names = [f"{source}.{alias.name}" for alias in node.names]
            targets.update(found for name in names if (found := owner(name)) is not None)
        targets.discard(module)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
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
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def _describe(graph: dict[str, set[str]], component: list[str]) -> str:
    members = set(component)
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return "; ".join(edges)


def test_no_import_cycle_between_project_modules() -> None:
    graph = _import_graph(ROOT, PACKAGES)
    assert "attribution.journeys" in graph and "experiments.reports.model" in graph
    cycles = _cycles(graph)
    assert not cycles, "module-level import cycles: " + " | ".join(
        _describe(graph, component) for component in cycles
    )


def test_former_cycles_run_one_way() -> None:
    graph = _import_graph(ROOT, PACKAGES)
    # journeys imports the event-log cutter only where it cuts an event log (a path table is
    # read without pandas), and the cutter never imports journeys
    assert "attribution._events" not in graph["attribution.journeys"]
    assert "attribution.journeys" not in graph["attribution._events"]
    assert "attribution.bootstrap" in graph["attribution.base"]
    assert "attribution.base" not in graph["attribution.bootstrap"]
    assert "experiments.reports.render" in graph["experiments.reports.model"]
    assert "experiments.reports.model" not in graph["experiments.reports.render"]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_checker_finds_cycles_through_absolute_relative_and_package_imports(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import A\n",
            "pkg/a.py": "from . import b\nA = 1\n",
            "pkg/b.py": "import pkg.sub.c\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "try:\n    from ..a import A\nexcept ImportError:\n    pass\n",
            "pkg/d.py": "from pkg import A\n",
        },
    )
    graph = _import_graph(tmp_path, ("pkg",))
    assert graph["pkg"] == {"pkg.a"}
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.d"] == {"pkg"}
    assert _cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]
    assert _describe(graph, ["pkg.a", "pkg.b", "pkg.sub.c"]) == (
        "pkg.a -> pkg.b; pkg.b -> pkg.sub.c; pkg.sub.c -> pkg.a"
    )


def test_checker_ignores_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\n",
            "pkg/b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.a import X\n"
                "def f():\n    from pkg import a\n"
            ),
        },
    )
    graph = _import_graph(tmp_path, ("pkg",))
    assert graph["pkg.b"] == set()
    assert _cycles(graph) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_the_size_limit(package: str) -> None:
    sizes = {
        name: len(path.read_text().splitlines())
        for name, path in _modules(ROOT, (package,)).items()
    }
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them): {too_long}"


def test_test_folders_mirror_the_packages() -> None:
    """``tests/<package>/<sub>/`` exists only where ``<package>/<sub>/`` does."""
    for package in PACKAGES:
        for folder in sorted((ROOT / "tests" / package).rglob("*")):
            if folder.is_dir() and folder.name != "__pycache__":
                source = ROOT / folder.relative_to(ROOT / "tests")
                assert source.is_dir(), f"{folder.relative_to(ROOT)} mirrors no package folder"
