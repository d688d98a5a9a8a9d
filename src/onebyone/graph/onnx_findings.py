"""Findings readable from an ONNX graph (onnx_view.OnnxView), in findings.py's vocabulary:
foldable_bn (a Conv whose only reader is a BatchNormalization, as paddle2onnx keeps them),
linear_chain (two rows with nothing, or only BatchNormalization, between), parallel (rows of one
kind, groups 1, same stride and padding, reading one tensor), rank_1 / rank_deficient (1x1 convs).
"""
from collections import defaultdict

from .findings import rank_findings
from .onnx_view import node_path


def onnx_findings(view, layers):
    """foldable_bn for every Conv -> BatchNormalization; for the rows (``layers``: name ->
    node pairs): rank of 1x1 convs, chains of two with nothing (or BatchNormalization) between,
    siblings reading one tensor."""
    import onnx

    found, siblings = [], defaultdict(list)
    for i, node in enumerate(view.g.node):
        readers = view.readers[node.output[0]] if node.op_type == "Conv" else []
        if len(readers) == 1 and view.g.node[readers[0]].op_type == "BatchNormalization":
            found.append({"kind": "foldable_bn", "modules": [view.name(i), node_path(view.g.node[readers[0]])],
                          "detail": "BatchNorm folds into the conv"})
    rows = {i: name for name, i in layers}
    for name, i in layers:
        node, w = view.g.node[i], view.weight(i)
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        conv = node.op_type == "Conv"
        if attrs.get("group", 1) == 1:
            found.extend(rank_findings(name, w) if conv else [])
            key = (conv, view.source(node.input[0]), tuple(attrs.get("strides", ())), tuple(attrs.get("pads", ())))
            siblings[key].append(name)
        after = view.users(i)
        if len(after) == 1 and view.kind(after[0]) == "bn":
            after = view.users(after[0])
        if len(after) == 1 and after[0] in rows and (view.g.node[after[0]].op_type == "Conv") == conv:
            found.append({"kind": "linear_chain", "modules": [name, rows[after[0]]],
                          "detail": f"{'conv feeds conv' if conv else 'Linear feeds Linear'} with no "
                                    "nonlinearity between"})
    for (conv, source, *_), names in siblings.items():
        if len(names) > 1:
            what = ("1x1 convs", "one conv") if conv else ("Linear layers", "one Linear")
            found.append({"kind": "parallel", "modules": names,
                          "detail": f"{len(names)} {what[0]} read {source}; {what[1]} can do all"})
    return found
