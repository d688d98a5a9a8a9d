"""The graph package's imports run one way: no circle (its subpackages included), no arrow from
a lower floor up to a higher one, nothing built on graph/ imported by it, analysis never imports a
rewrite, and explanation never imports blocks (read from the source, so lazy imports count too)."""
import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "onebyone"
ANALYSIS = ("inspect", "findings", "census", "roles", "cost", "chains", "table", "patterns",
            "onnx_inspect", "onnx_read", "onnx_fold", "onnx_view")


def imports(path):
    """Dotted onebyone modules that the file at path imports, anywhere in it."""
    package = ".".join(("onebyone",) + path.relative_to(SRC).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)  # `from . import x`
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("onebyone")}


def graph_modules():
    return {f"onebyone.graph.{p.stem}": p for p in (SRC / "graph").glob("*.py") if p.stem != "__init__"}


def test_no_circle_between_graph_modules():
    modules = graph_modules()
    edges = {m: imports(p) & set(modules) for m, p in modules.items()}

    def reaches(start, goal, seen):
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges[start])

    assert [m for m in modules if reaches(m, m, {m})] == []


@pytest.mark.parametrize("name", ANALYSIS)
def test_analysis_imports_no_pass(name):
    assert not any(".passes" in m for m in imports(SRC / "graph" / f"{name}.py"))


def test_inspect_and_onnx_inspect_do_not_import_each_other():
    assert "onebyone.graph.onnx_inspect" in imports(SRC / "graph" / "inspect.py")  # lazily, to dispatch
    assert "onebyone.graph.inspect" not in imports(SRC / "graph" / "onnx_inspect.py")


def test_explanation_never_imports_blocks():
    for path in (SRC / "explanation").glob("*.py"):
        assert not any(m.startswith("onebyone.blocks") for m in imports(path)), path.name




# Every module of graph/, its subpackages' included, by dotted name (a package by its __init__).
MODULES = {".".join(("onebyone",) + p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__"): p
           for p in (SRC / "graph").rglob("*.py")}
# Floors of graph/, lowest first: a module imports from its own floor or lower ones only. A module
# on no floor (a new one) is held to the circle test alone until it is placed here.
FLOORS = [
    {"settings", "guards", "inplace", "layer_calls", "roles", "table", "verify", "zoo",
     "render", "patterns", "modularize", "leaves", "trace", "load", "onnx_read", "onnx_fold", "calibration",
     "reports"},
    {"census", "cost", "chains", "findings", "inspect", "onnx_inspect", "onnx_view"},  # analysis
    {"passes"},  # rewrites, built on the analysis
    {"engines"},  # where a graph runs
    {"steps", "targets", "onnx_convert", "baseline", "int8", "optimize"},  # optimize and what it runs
    {""},  # the package's face: onebyone.graph itself
]
def graph_edges():
    """{module: the graph modules it imports}, lazy imports too. `from .. import verify` imports
    verify (Python runs the package's __init__ for any submodule: that is no arrow); `from . import
    load`, a name of the package's __init__, imports the package."""
    found = {}
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                parts = package.split(".")
                base = ".".join((parts[:len(parts) - node.level + 1] if node.level else [])
                                + ([node.module] if node.module else []))
                targets |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                            for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        found[name] = {t for t in targets if t in MODULES and t != name}
    return found


def floor(name):
    """The floor of a graph module (its first part under graph/ names it), or None."""
    head = name.removeprefix("onebyone.graph").lstrip(".").split(".")[0]
    return next((i for i, names in enumerate(FLOORS) if head in names), None)


def test_no_circle_in_graph_and_its_subpackages():
    edges = graph_edges()

    def reaches(start, goal, seen):
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges[start])

    assert [m for m in edges if reaches(m, m, {m})] == []


def test_no_arrow_up_between_graph_floors():
    up = [(m, t) for m, targets in graph_edges().items() for t in targets
          if floor(m) is not None and floor(t) is not None and floor(t) > floor(m)]
    assert up == []


def test_graph_never_imports_what_is_built_on_it():
    above = ("onebyone.cli", "onebyone.bench", "onebyone.blocks", "onebyone.explanation")
    for name, path in MODULES.items():
        found = imports(path)
        assert "onebyone" not in found and not any(m.startswith(above) for m in found), name


def test_every_floor_names_a_module():
    """A misspelt name on a floor would leave that module unchecked."""
    heads = {m.removeprefix("onebyone.graph").lstrip(".").split(".")[0] for m in MODULES}
    assert set().union(*FLOORS) - heads == set()
