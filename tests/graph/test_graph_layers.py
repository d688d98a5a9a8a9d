"""The graph package's imports run one way: no circle, analysis never imports a rewrite, and
explanation never imports blocks (read from the source, so lazy imports count too)."""
import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "onebyone"
ANALYSIS = ("inspect", "findings", "census", "roles", "cost", "chains", "table", "patterns",
            "onnx_inspect")


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

