"""The import graph of `mechamental` has no cycles, between modules or between packages.

Every module under src/mechamental is parsed with `ast` (nothing is imported), and every
import counts: module level, inside functions, and under `TYPE_CHECKING`. Two graphs are
checked: modules, and at each level of the package tree the graph of sibling packages and
modules (an import `a.x.m -> a.y.n` is an edge `a.x -> a.y`), so `routes -> hub ->
{fanout, presence} -> events -> db` can only run one way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "mechamental"
PACKAGE = "mechamental"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of this package that `name` imports (a package stands for its __init__).

    Parent packages, which Python imports first, are not counted: `a.b.c -> a.b` is no edge.
    """
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` names the module `pkg.mod`; `from mod import obj`, `mod`.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith(PACKAGE + ".") and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _describe(cycle: Iterable[str], graph: dict[str, set[str]]) -> str:
    members = set(cycle)
    edges = sorted(f"{a} -> {b}" for a in members for b in graph.get(a, ()) if b in members)
    return "\n  ".join(edges)


def _sibling_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Each import `a.x.m -> a.y.n` as the edge `a.x -> a.y` between the siblings under `a`."""
    siblings: dict[str, set[str]] = {}
    for source, targets in graph.items():
        for target in targets:
            src, dst = source.split("."), target.split(".")
            common = 0
            while common < min(len(src), len(dst)) and src[common] == dst[common]:
                common += 1
            if common == len(src) or common == len(dst):
                continue  # a package and its own __init__/submodule: not two siblings
            a, b = ".".join(src[: common + 1]), ".".join(dst[: common + 1])
            siblings.setdefault(a, set()).add(b)
            siblings.setdefault(b, set())
    return siblings


def test_the_graph_is_read() -> None:
    graph = _graph()
    assert "mechamental.app" in graph
    assert "mechamental.db" in graph["mechamental.sync.events.outbox"]


def test_no_module_cycles() -> None:
    graph = _graph()
    cycles = _cycles(graph)
    report = "\n".join(f"cycle:\n  {_describe(c, graph)}" for c in cycles)
    assert not cycles, report


def test_no_package_cycles() -> None:
    graph = _graph()
    siblings = _sibling_edges(graph)
    cycles = _cycles(siblings)
    report = "\n".join(f"cycle:\n  {_describe(c, siblings)}" for c in cycles)
    assert not cycles, report
