"""The shape of the package: no import loops between dnactx's modules, and no module importing from a layer above
its own. Every import counts, at the top of a module, inside a function (lazy) or under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

import dnactx

ROOT = Path(dnactx.__file__).parent

# The layer order, bottom first: a module may import from its own layer or below, never above. A name is a
# top-level module or package of dnactx ("__init__" is dnactx/__init__.py); the README's Layout lists the same.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "errors", "choices"),
    ("atomic", "outputs", "storage", "filelock", "heap", "distributed", "provenance", "formatting", "progress",
     "contracts", "metrics", "losses"),
    ("io", "sequence"),
    ("prepare", "data", "tokenize"),
    ("runs",),
    ("registry",),
    ("models", "stats"),
    ("inference", "train"),
    ("predict", "explain", "matrix", "pretrain"),
    ("analysis", "slurm"),
    ("demo",),
    ("cli", "__main__"),
)
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, Path]:
    """dotted name → file, for every module of dnactx (a package by its own name)."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ("dnactx", *path.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The dnactx modules ``name`` imports: ``from . import x`` names module x, ``from .x import y`` module x (or
    x.y when that is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            subs = {f"{module}.{a.name}" for a in node.names} & MODULES.keys()
            found |= subs if subs and len(subs) == len(node.names) else subs | {module}
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_is_in_a_layer():
    assert {_layer(m) for m in MODULES} - LAYER.keys() == set(), "add the new module to LAYERS (and the README)"


def test_no_module_imports_from_a_layer_above_its_own():
    upward = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
                    if LAYER[_layer(b)] > LAYER[_layer(a)])
    assert upward == [], "move what both need into a lower module:\n" + "\n".join(upward)


def test_there_are_no_import_loops():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert loops == [], "modules that import each other (move what both need into a lower module): " + str(loops)


def test_the_walker_sees_lazy_and_type_checking_imports():
    assert "dnactx.predict.job" in GRAPH["dnactx.predict.outputs"]  # under TYPE_CHECKING
    assert "dnactx.registry" in GRAPH["dnactx.train.run"]  # inside a function
