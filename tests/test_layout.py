"""The package layout keeps its promises: modules stay small and imports point one way.

ARCHITECTURE.md §3: one subpackage per phase, no module over ~600 lines, no import cycles
(module-level imports; imports inside functions and under ``TYPE_CHECKING`` are the way a
dependency that must point up is broken, so they do not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mlopskit"
MAX_LINES = 600
PHASES = ("frames", "stats", "shadow", "canary", "drift", "labels", "monitoring", "registry")
PHASES += ("report", "plots")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _top_level_imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Modules of the package imported when ``name`` is imported (module level only)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Try | ast.If):
                visit(node.body)
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join([*base, node.module] if node.module else base)
                else:
                    mod = node.module or ""
                # ``from <ancestor package> import x`` needs only the ancestor, which is
                # initialised before this module anyway: not an edge
                if mod in known and not name.startswith(mod + "."):
                    found.add(mod)
                for a in node.names:
                    sub = f"{mod}.{a.name}"
                    if sub in known:
                        found.add(sub)

    visit(tree.body)
    return found


def test_no_module_over_the_line_budget() -> None:
    too_long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"modules over {MAX_LINES} lines: {too_long}"


def test_each_phase_is_a_subpackage() -> None:
    missing = [p for p in PHASES if not (PACKAGE / p / "__init__.py").is_file()]
    assert missing == []


def test_no_import_cycles() -> None:
    mods = _modules()
    known = set(mods)
    graph = {m: _top_level_imports(p, m, known) - {m} for m, p in mods.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(u: str) -> None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                cycles.append([*stack[stack.index(v) :], v])
            elif v not in state:
                dfs(v)
        stack.pop()
        state[u] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


# one fresh interpreter per package and top-level module (each submodule is imported by them)
@pytest.mark.parametrize(
    "name",
    sorted(m for m, p in _modules().items() if m.count(".") <= 1 and not m.endswith("__main__")),
)
def test_every_module_imports_on_its_own(name: str) -> None:
    """Each module imports in a fresh interpreter (no hidden order dependence)."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
