"""Constant folding for onnx_read: every node whose inputs are all constant becomes an
initializer, computed by onnx's reference evaluator (nothing interpreted by hand); a Shape of a
tensor whose shape onnx inferred in full is a constant too.
"""
import numpy as np

# Ops never folded: their value is not a function of their inputs.
_RANDOM = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Bernoulli",
           "Multinomial"}


def static_shapes(model):
    """{tensor name: [dims]} for every tensor whose shape onnx knows in full."""
    g = model.graph
    shapes = {}
    for v in list(g.input) + list(g.value_info) + list(g.output):
        t = v.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            shapes[v.name] = [d.dim_value for d in t.shape.dim]
    shapes.update({i.name: list(i.dims) for i in g.initializer})
    return shapes


def _evaluable(node):
    has_graph = any(a.type in (a.GRAPH, a.GRAPHS) for a in node.attribute)
    return node.domain in ("", "ai.onnx") and node.op_type not in _RANDOM and not has_graph


def fold(model):
    """Replace, in place, every node of ``model`` whose inputs are all constant by
    initializers; True if any was (then shape inference may make more Shapes static).

    >>> import onnx, numpy as np
    >>> from onnx import helper, numpy_helper
    >>> c = helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(np.ones((2, 3), np.float32)))
    >>> g = helper.make_graph([c, helper.make_node("Transpose", ["w"], ["wt"]), helper.make_node("MatMul", ["x", "wt"], ["y"])],
    ...                       "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3])], [])
    >>> m = helper.make_model(g)
    >>> fold(m), [n.op_type for n in m.graph.node], numpy_helper.to_array(m.graph.initializer[0]).shape
    (True, ['MatMul'], (3, 2))
    """
    g = model.graph
    shapes = static_shapes(model)
    known = {i.name for i in g.initializer}
    keep = {o.name for o in g.output}
    fold, values = [], {}
    for node in g.node:
        if keep & set(node.output):
            continue
        if node.op_type == "Shape" and node.domain in ("", "ai.onnx") and node.input[0] in shapes:
            attrs = {a.name: a.i for a in node.attribute}
            dims = shapes[node.input[0]][attrs.get("start", 0):attrs.get("end", None)]
            values[node.output[0]] = np.array(dims, np.int64)
        elif not (_evaluable(node) and all(not x or x in known for x in node.input)):
            continue
        fold.append(node)
        known.update(node.output)
    if not fold:
        return False
    rest = _without(g.node, fold)
    needed = {x for n in rest for x in reads(n)} & (known - {i.name for i in g.initializer})
    try:
        values.update(_evaluate(model, [n for n in fold if n.op_type != "Shape" or n.output[0] not in values],
                                values, needed - set(values)))
    except Exception:  # a node onnx cannot compute (a constant index out of range): fold the rest
        fold = _one_by_one(model, fold, values)
        rest = _without(g.node, fold)
        needed = {x for n in rest for x in reads(n)} & set(values)
        if not fold:
            return False
    _replace(g, rest, {k: v for k, v in values.items() if k in needed})
    return True


def _without(nodes, removed):
    gone = {id(n) for n in removed}
    return [n for n in nodes if id(n) not in gone]


def _one_by_one(model, nodes, values):
    """The nodes the reference evaluator computes alone, in order, their outputs put in
    ``values``; a node that fails stays in the graph, and so does every node reading it."""
    done = []
    for node in nodes:
        if not (node.op_type == "Shape" and node.output[0] in values):
            try:
                values.update(_evaluate(model, [node], values, {x for x in node.output if x}))
            except Exception:
                continue
        done.append(node)
    return done


def _evaluate(model, nodes, values, wanted):
    """{name: array} for ``wanted``, computed by onnx's reference evaluator from ``nodes``,
    the graph's initializers and the already known ``values``."""
    import onnx
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    if not wanted:
        return {}
    reads = {x for n in nodes for x in n.input}
    inits = [i for i in model.graph.initializer if i.name in reads]
    inits += [numpy_helper.from_array(v, k) for k, v in values.items() if k in reads]
    graph = helper.make_graph(nodes, "constants", [], [onnx.ValueInfoProto(name=w) for w in sorted(wanted)],
                              inits)
    sub = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version or onnx.IR_VERSION)
    sub.functions.extend(model.functions)
    results = ReferenceEvaluator(sub).run(None, {})
    return dict(zip(sorted(wanted), (np.asarray(r) for r in results)))


def reads(node):
    """Every tensor name node reads, its subgraphs' outer reads included."""
    names = list(node.input)
    for a in node.attribute:
        for sub in ([a.g] if a.type == a.GRAPH else list(a.graphs) if a.type == a.GRAPHS else []):
            names += [x for n in sub.node for x in reads(n)]
    return names


def _replace(graph, nodes, values):
    from onnx import numpy_helper

    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in values.items())
    stale = set(values)  # value_info of a folded tensor: now an initializer's shape says it
    kept = [v for v in graph.value_info if v.name not in stale]
    del graph.value_info[:]
    graph.value_info.extend(kept)
