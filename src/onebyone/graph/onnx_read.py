"""The one ONNX front end: a model as any exporter wrote it, in one normal form.

Exporters write the same facts in different shapes: weights as initializers (torch), as
``Constant`` nodes (paddle2onnx), behind ``Identity`` nodes (tf2onnx's variable reads), or as
small constant subgraphs (a ``Transpose`` of a weight, a ``Shape -> Gather -> Concat`` that
computes a ``Reshape`` target from dynamic dims). ``read_onnx`` fixes the inputs' symbolic dims
from the example shapes, then lets onnx itself do the rest: its shape inference gives every
tensor a static shape (so a ``Shape`` node's value is known), and its reference evaluator
computes every node whose inputs are all constants. What is left reads the same whoever wrote
it: weights are initializers, every tensor has a shape. Inspect reads its rows from here, and
optimize may too.
"""
from ..errors import OneByOneError, first_line
from .onnx_fold import fold, reads, static_shapes  # noqa: F401 (static_shapes: re-exported)

_ROUNDS = 8  # fold -> infer -> fold: each round can make a Shape static for the next one


def read_onnx(model, input_shapes=None):
    """A normalised copy of the onnx.ModelProto ``model`` (``model`` is not changed).

    input_shapes: one shape per graph input (a tuple, or None for an input whose dims are all
    fixed); they fill the inputs' symbolic dims and must agree with the fixed ones. In the
    result every graph input is static, every Constant node, Identity of a constant and
    constant-only subgraph (a Shape of a static tensor counts as constant) is an initializer
    (computed by onnx.reference.ReferenceEvaluator; a node it cannot compute stays, with what
    reads it), an Identity on an activation is gone, no initializer is unused, and
    graph.value_info and the outputs hold onnx's shapes inferred from the inputs (the file's
    own, written at its export size, are dropped first).

    >>> import onnx, numpy as np
    >>> from onnx import helper, TensorProto
    >>> w = onnx.numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32))
    >>> g = helper.make_graph(
    ...     [helper.make_node("Constant", [], ["w"], value=w), helper.make_node("Conv", ["x", "w"], ["y"])],
    ...     "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    >>> m = read_onnx(helper.make_model(g), [(1, 3, 8, 8)])
    >>> [n.op_type for n in m.graph.node], [i.name for i in m.graph.initializer]
    (['Conv'], ['w'])
    >>> static_shapes(m)["y"]
    [1, 4, 8, 8]
    """
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    _fix_inputs(out.graph, list(input_shapes or []))
    _forget_shapes(out.graph)
    out = _infer(out)
    for _ in range(_ROUNDS):
        if not fold(out):
            break
        out = _infer(out)
    size = (len(out.graph.node), len(out.graph.initializer))
    _drop_identities(out.graph)
    _drop_unused(out.graph)
    # shape inference again only where the graph changed (it copies the model: ~1 s for resnet50)
    return _infer(out) if (len(out.graph.node), len(out.graph.initializer)) != size else out


def is_onnx(model):
    """True for an onnx.ModelProto, told without importing onnx (a model class defined in a
    module named onnx_something is not one).

    >>> import onnx, torch
    >>> is_onnx(onnx.ModelProto()), is_onnx(torch.nn.ReLU())
    (True, False)
    """
    kind = type(model)
    return kind.__name__ == "ModelProto" and kind.__module__.split(".")[0] == "onnx"


def graph_inputs(graph):
    """The graph's real inputs (old files list initializers among the inputs too)."""
    inits = {i.name for i in graph.initializer}
    return [v for v in graph.input if v.name not in inits]


def _dims_text(dims):
    return "x".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?") for d in dims)


def _fix_inputs(graph, shapes):
    inputs = graph_inputs(graph)
    if len(shapes) > len(inputs):
        raise OneByOneError(f"expected at most {len(inputs)} input shape(s), one per input of the "
                            f"ONNX graph ({', '.join(v.name for v in inputs)}); got {len(shapes)}")
    for i, v in enumerate(inputs):
        t = v.type.tensor_type
        dims = t.shape.dim
        given = shapes[i] if i < len(shapes) else None
        if given is None:
            if not t.HasField("shape") or any(not d.HasField("dim_value") for d in dims):
                raise OneByOneError(f"expected an input shape (--input) for the symbolic dims of ONNX "
                                    f"input {v.name!r} ({_dims_text(dims) if t.HasField('shape') else 'no shape'}); "
                                    f"got {'none' if not shapes else f'shapes for {len(shapes)} input(s) only'}")
            continue
        given = tuple(int(s) for s in given)
        text = "x".join(map(str, given))
        if t.HasField("shape") and len(dims) != len(given):
            raise OneByOneError(f"expected an input shape of rank {len(dims)} for ONNX input {v.name!r} "
                                f"({_dims_text(dims)}); got {text}")
        fixed = [(d.dim_value, s) for d, s in zip(dims, given) if d.HasField("dim_value")]
        if any(a != b for a, b in fixed):
            raise OneByOneError(f"expected an input shape that agrees with ONNX input {v.name!r}'s fixed "
                                f"dims ({_dims_text(dims)}); got {text}")
        t.shape.Clear()
        for s in given:
            t.shape.dim.add().dim_value = s


def _forget_shapes(graph):
    """Drop the shapes the file records past its inputs: written at the exporter's example size,
    they contradict the dims filled in (shape inference writes them again, from the inputs)."""
    del graph.value_info[:]
    for v in graph.output:
        if v.type.HasField("tensor_type"):
            v.type.tensor_type.ClearField("shape")


def _infer(model):
    from onnx import shape_inference

    try:
        return shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as e:  # onnx's InferenceError: the shapes do not fit the graph
        raise OneByOneError(f"expected input shapes the ONNX graph accepts; onnx shape inference "
                            f"failed: {first_line(e)}") from e


def _drop_identities(graph):
    """Readers of an Identity on an activation read its input instead (tf2onnx writes them)."""
    outputs = {o.name for o in graph.output}
    sub_reads = {x for n in graph.node for x in reads(n)} - {x for n in graph.node for x in n.input}
    rename = {}
    for node in graph.node:
        if node.op_type == "Identity" and node.output[0] not in outputs | sub_reads:
            rename[node.output[0]] = rename.get(node.input[0], node.input[0])
    if not rename:
        return
    nodes = [n for n in graph.node if not (n.op_type == "Identity" and n.output[0] in rename)]
    for n in nodes:
        for i, x in enumerate(n.input):
            n.input[i] = rename.get(x, x)
    del graph.node[:]
    graph.node.extend(nodes)


def _drop_unused(graph):
    used = {x for n in graph.node for x in reads(n)} | {o.name for o in graph.output}
    inits = {i.name for i in graph.initializer}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    inputs = [v for v in graph.input if v.name in used or v.name not in inits]
    del graph.input[:]
    graph.input.extend(inputs)
