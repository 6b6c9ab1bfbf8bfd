"""The shape of the house, checked with ``ast`` so that it stays true (docs/development.md, "Layers"):

- ``lms`` (the platform) imports no feature package, at the top of a module or inside a function;
- features import only the features before them in ``lms.features.FEATURES`` (the dependency order);
- no import cycles between modules, counting imports inside functions;
- fewer than 20 imports of project modules inside functions, each with a comment saying why.
"""
from __future__ import annotations

import ast
from pathlib import Path

from lms.features import FEATURES

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ["lms", *FEATURES]
MAX_INNER_IMPORTS = 20


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in APP_PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _target(name: str) -> str | None:
    """The project module an import names (``a.b.c`` may be the module ``a.b`` and its attribute ``c``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path):
    """(line, imported module, inside a function?, source line) for every project import of ``module``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines()
    is_pkg = path.name == "__init__.py"
    found = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only: never executed
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = module.split(".") if is_pkg else module.split(".")[:-1]
                    parts = parts[: len(parts) - (child.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                names = [f"{base}.{a.name}" if base else a.name for a in child.names]
            for n in names:
                t = _target(n)
                if t and t != module:
                    found.append((child.lineno, t, in_function, lines[child.lineno - 1]))
            visit(child, inner)

    visit(tree, False)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _package(module: str) -> str:
    return module.split(".")[0]


def test_platform_imports_no_feature():
    bad = [f"{m}:{line} imports {t}" for m, imps in GRAPH.items() if _package(m) == "lms"
           for line, t, _inner, _src in imps if _package(t) != "lms"]
    assert not bad, "\n".join(bad)


def test_features_depend_one_way():
    order = {pkg: i for i, pkg in enumerate(FEATURES)}
    bad = [f"{m}:{line} imports {t} (later in lms.features.FEATURES: react to its signals instead)"
           for m, imps in GRAPH.items() if _package(m) in order
           for line, t, _inner, _src in imps if _package(t) in order and order[_package(t)] > order[_package(m)]]
    assert not bad, "\n".join(bad)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), counting imports in functions."""
    edges = {m: sorted({t for _l, t, _i, _s in imps}) for m, imps in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def test_no_import_cycles():
    assert _cycles() == []


def test_few_imports_inside_functions_each_explained():
    inner = [(m, line, t, src) for m, imps in GRAPH.items() for line, t, is_inner, src in imps if is_inner]
    unexplained = [f"{m}:{line} imports {t}" for m, line, t, src in inner if "#" not in src]
    assert not unexplained, "imports inside functions need a comment saying why:\n" + "\n".join(unexplained)
    assert len(inner) < MAX_INNER_IMPORTS, "\n".join(f"{m}:{line} imports {t}" for m, line, t, _s in inner)


def test_every_feature_has_the_house_shape():
    for pkg in FEATURES:
        base = ROOT / pkg
        for part in ("models", "services", "queries", "forms", "views", "api", "jobs", "wiring"):
            assert (base / f"{part}.py").exists() or (base / part / "__init__.py").exists(), f"{pkg} has no {part}"
        assert (base / "templates" / pkg).is_dir(), f"{pkg} has no templates/{pkg}/"
