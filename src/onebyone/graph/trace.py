"""Model -> torch.fx GraphModule with shapes on every node, or one clear error.

A submodule torch.fx cannot trace is kept whole (leaves.py); only a model whose own forward
cannot be traced is an error.
"""
import copy

import torch
import torch.fx
from torch.fx.passes.shape_prop import ShapeProp

from ..errors import OneByOneError, first_line
from ..nn import Conv1x1
from . import leaves
from .patterns import plain_batch_norm


class _Tracer(torch.fx.Tracer):
    """symbolic_trace's tracer, with Conv1x1 and the ``leaves`` paths kept whole, and a record
    of where tracing failed."""

    def __init__(self, leaves=()):
        super().__init__()
        self.leaves, self.stack, self.failed_in = set(leaves), [], None

    def is_leaf_module(self, m, qualname):
        # a BatchNorm subclass with torch's forward is a BatchNorm (its input-rank check would
        # otherwise stop tracing); one with a forward of its own is traced through
        return (isinstance(m, Conv1x1) or qualname in self.leaves or super().is_leaf_module(m, qualname)
                or isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and plain_batch_norm(m))

    def call_module(self, m, forward, args, kwargs):
        self.stack.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            # The innermost module on the stack when the error rises is the one that failed.
            self.failed_in = self.failed_in or self.stack[-1]
            raise
        finally:
            self.stack.pop()


def trace(model):
    """A GraphModule for ``model`` that shares nothing with it (the model is never mutated).

    >>> gm = trace(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.ReLU()))
    >>> [n.op for n in gm.graph.nodes]
    ['placeholder', 'call_module', 'call_module', 'output']
    """
    if isinstance(model, torch.jit.ScriptModule):
        raise OneByOneError("expected an nn.Module torch.fx can trace; got a TorchScript module "
                            "(save the model with torch.save(model) or torch.export instead)")
    if not isinstance(model, torch.nn.Module):
        raise OneByOneError(f"expected an nn.Module; got a {type(model).__name__}")
    model = copy.deepcopy(model)
    if _Tracer().is_leaf_module(model, ""):
        model = torch.nn.Sequential(model)  # a lone conv: trace it as a layer, not its internals
    if isinstance(model, torch.fx.GraphModule):
        from .modularize import modularize

        if leaves.KEY not in model.meta:  # recover walks every module: only when not recorded
            model.meta[leaves.KEY] = leaves.recover(model)
        return modularize(model)
    graph, tracer, kept = _trace_keeping_leaves(model)
    from .modularize import modularize

    gm = torch.fx.GraphModule(tracer.root, graph, type(model).__name__)
    gm.meta[leaves.KEY] = kept
    return modularize(_drop_identities(gm))


def _trace_keeping_leaves(model):
    """(graph, tracer, {path: reason}): a submodule that fails to trace is kept whole and the
    trace starts again (each failure adds one leaf); the model's own forward failing is an error."""
    kept = {}
    while True:
        tracer = _Tracer(kept)
        try:
            return tracer.trace(model), tracer, kept
        except Exception as e:
            if not tracer.failed_in or tracer.failed_in in kept:
                where = f"module '{tracer.failed_in}'" if tracer.failed_in else f"{type(model).__name__}.forward"
                raise OneByOneError(f"expected a model torch.fx can trace; {where} failed to trace: "
                                    f"{first_line(e)}") from None
            kept[tracer.failed_in] = leaves.reason(e)


def _drop_identities(gm):
    # nn.Identity placeholders (e.g. an optional BatchNorm left out) would hide conv -> conv chains
    for node in list(gm.graph.nodes):
        if node.op == "call_module" and isinstance(gm.get_submodule(node.target), torch.nn.Identity):
            node.replace_all_uses_with(node.args[0])
            gm.graph.erase_node(node)
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm


def make_inputs(example, default=(1, 3, 224, 224), seed=0):
    """A tuple of input tensors from a tensor, a tuple of tensors, a shape, or "1,3,64,64".

    >>> make_inputs("2,3,8,8")[0].shape
    torch.Size([2, 3, 8, 8])
    """
    if example is None:
        example = default
    if isinstance(example, torch.Tensor):
        return (example,)
    if isinstance(example, str):
        try:
            example = tuple(int(v) for v in example.replace("x", ",").split(","))
        except ValueError:
            raise OneByOneError(f"expected an input shape such as 1,3,224,224; got {example!r}") from None
    if isinstance(example, (tuple, list)) and example and all(isinstance(v, int) for v in example):
        if any(v < 1 for v in example):
            raise OneByOneError(f"expected positive sizes in the input shape; got {tuple(example)}")
        gen = torch.Generator().manual_seed(seed)
        return (torch.randn(*example, generator=gen),)
    if isinstance(example, (tuple, list)) and all(isinstance(v, torch.Tensor) for v in example):
        return tuple(example)
    raise OneByOneError(f"expected an example input: a tensor, a tuple of tensors or a shape; "
                        f"got {type(example).__name__}")


def propagate(gm, inputs, keep_output=None):
    """Record every node's output shape in node.meta['tensor_meta'] by running gm once.

    keep_output: a list to append gm's output to (saves a forward for callers that need it).
    """
    with torch.no_grad(), leaves.capturing(gm) as calls:
        try:
            out = ShapeProp(gm).propagate(*inputs)
        except Exception as e:
            shapes = [tuple(t.shape) for t in inputs]
            raise OneByOneError(f"expected an input the model accepts; running it on shapes "
                                f"{shapes} failed: {first_line(e)}") from None
    _open_parts(gm, calls)  # inside kept-whole modules, what traces on its own
    if keep_output is not None:
        keep_output.append(out)
    return gm


def _open_parts(gm, calls):
    """Trace (once) and propagate each module leaves.openable names, and put it in its place;
    one that does not trace, or traces to another computation, stays inside the leaf as it is."""
    for path, m, args, times in leaves.openable(gm, calls):
        part = m if leaves.is_part(m) else _opened(m, args)
        if part is None:
            continue
        propagate(part, args)
        part.meta["calls"] = times
        if part is not m:
            leaves.place(gm, path, part)


def _opened(m, args):
    from .verify import compare, tolerance

    try:
        part = trace(m)
        with torch.no_grad():
            expected = m(*args)
            same = compare(expected, part(*args))["error"] <= tolerance([expected])
    except (OneByOneError, RuntimeError, TypeError):
        return None
    return leaves.mark(part, m) if same else None  # traced, but not the same computation: left


def shape_of(node):
    """The output shape ShapeProp recorded for node, or None for non-tensor outputs."""
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if hasattr(meta, "shape") else None
