"""Modules torch.fx cannot trace, kept whole as leaves, and the parts inside them that can.

trace() keeps a submodule whose forward torch.fx cannot trace (control flow on a tensor, say)
as one call_module node and goes on, as timm's fx helpers do with their leaf modules; the
graph records it in ``gm.meta["kept_whole"]`` ({path: reason}). Only a model whose own forward
cannot be traced is an error. Once inputs are known (trace.propagate runs the graph), each
called child of a kept-whole module that ``openable`` names is traced on its own (by trace.py:
this module never calls back), checked to compute what the child computed, and put in its
place: a *part*. The census lists a part's 1x1 convs at its leaf's place; cost, findings and
the passes take every part from ``walk``; the leaf's own Python stays exactly as written.
A part called k times is propagated on its first call's inputs and counted k times.
"""
import contextlib

import torch
from torch.utils._pytree import tree_map

from ..errors import first_line

KEY, PART = "kept_whole", "onebyone_part"
# what torch.fx says -> what a reader of the report needs to know
_REASONS = {"cannot be used as inputs to control flow": "control flow on a tensor",
            "object cannot be iterated": "iterates over a tensor",
            "cannot be used as a shape": "a tensor used as a shape",
            "len(.) is not supported": "len() of a tensor"}


def reason(error):
    """Why a module did not trace, in a few words.

    >>> reason(RuntimeError("symbolically traced variables cannot be used as inputs to control flow"))
    'control flow on a tensor'
    """
    text = first_line(error)
    return next((why for key, why in _REASONS.items() if key in text), text[:80])


def kept_whole(gm):
    """{path: reason} of the modules ``gm`` calls whole because torch.fx could not trace them."""
    return dict(getattr(gm, "meta", {}).get(KEY, {}))


def recover(gm):
    """{path: reason} for a GraphModule built before (an optimize result saved and loaded:
    pickling drops gm.meta): the modules it calls that are neither torch's layers nor graphs
    but hold layers of their own were kept whole when it was traced."""
    from torch import nn

    def opaque(m):
        return (not type(m).__module__.startswith("torch.") and not isinstance(m, torch.fx.GraphModule)
                and any(isinstance(c, nn.Module) for c in m.children()))

    targets = dict.fromkeys(n.target for n in gm.graph.nodes if n.op == "call_module")
    return {t: "kept whole when it was traced" for t in targets if opaque(gm.get_submodule(t))}


def parts(gm, under=None):
    """[(path, part GraphModule)] opened inside gm's kept-whole modules (or inside ``under``):
    the outermost ones (a part's own leaves hold its inner parts). A kept-whole module inside
    another (the tracer keeps both when the inner one fails first) is reached through the outer
    one's parts, not again on its own."""
    found = []
    kept = kept_whole(gm)
    outermost = [k for k in kept if not any(k.startswith(o + ".") for o in kept)]
    for leaf in ([under] if under else outermost):
        inside = [(name, m) for name, m in gm.get_submodule(leaf).named_modules() if name and is_part(m)]
        found += [(f"{leaf}.{name}", m) for name, m in inside
                  if not any(name.startswith(other + ".") for other, _ in inside)]
    return found


def is_part(m):
    return isinstance(m, torch.fx.GraphModule) and m.meta.get(PART, False)


def row_path(prefix, part, target):
    """The path users know for a node of a part: a lone layer traced alone is its own path."""
    return prefix if part.meta.get("lone") and target == "0" else f"{prefix}.{target}"


@contextlib.contextmanager
def capturing(gm):
    """Inside: record the inputs of every call of every module inside gm's kept-whole modules.
    Yields {path: [(args, kwargs), ...]} (tensors cloned: the leaf may write them in place)."""
    calls, handles = {}, []

    def hook_for(path):
        def hook(module, args, kwargs):
            copy = tree_map(lambda t: t.detach().clone() if isinstance(t, torch.Tensor) else t,
                            (args, kwargs))
            calls.setdefault(path, []).append(copy)
        return hook

    for leaf in kept_whole(gm):
        for name, m in gm.get_submodule(leaf).named_modules():
            if name:
                handles.append(m.register_forward_pre_hook(hook_for(f"{leaf}.{name}"), with_kwargs=True))
    try:
        yield calls
    finally:
        for h in handles:
            h.remove()


def walk(gm, under=None):
    """(path, part, calls) of every part inside gm's kept-whole modules (inside ``under`` only,
    if given), at any depth, each before the parts inside it: path in gm's names, calls how
    often one run of gm runs it. The one walk into kept-whole modules: cost, findings and the
    passes take each part as a graph of its own from here.

    >>> import torch
    >>> list(walk(torch.fx.symbolic_trace(torch.nn.ReLU())))
    []
    """
    for prefix, part in parts(gm, under):
        calls = part.meta.get("calls", 1)
        yield prefix, part, calls
        for path, inner, times in walk(part):
            yield f"{prefix}.{path}", inner, calls * times


def rows(gm):
    """The report's rows of gm's kept-whole modules: [{"module", "reason"}].

    >>> import torch
    >>> gm = torch.fx.symbolic_trace(torch.nn.ReLU())
    >>> gm.meta[KEY] = {"gate": "control flow on a tensor"}
    >>> rows(gm)
    [{'module': 'gate', 'reason': 'control flow on a tensor'}]
    """
    return [{"module": m, "reason": why} for m, why in kept_whole(gm).items()]


def openable(gm, calls):
    """[(path, module, args, times called)] of what propagate opens inside gm's kept-whole
    modules (calls: from capturing): each outermost called module that holds a conv or Linear
    layer and was called with tensors only."""
    found = []
    for path in _outermost(calls):
        m, seen = gm.get_submodule(path), calls[path]
        args, kwargs = seen[0]
        if not kwargs and all(isinstance(a, torch.Tensor) for a in args) and _has_layer(m):
            found.append((path, m, args, len(seen)))
    return found


def mark(part, m):
    """part, the GraphModule traced from module m, marked as a part (and as a lone layer, whose
    rows keep m's own path)."""
    lone = not any(n.op == "call_function" or n.op == "call_method" for n in part.graph.nodes) \
        and [n.target for n in part.graph.nodes if n.op == "call_module"] == ["0"] \
        and not list(m.children())
    part.meta.update({PART: True, "lone": lone})
    return part


def place(gm, path, part):
    """Put part where gm's module at path was."""
    parent, _, name = path.rpartition(".")
    setattr(gm.get_submodule(parent), name, part)


def _outermost(calls):
    """Called paths none of whose ancestors was called (an ancestor's part holds them)."""
    return [p for p in calls if not any(p.startswith(q + ".") for q in calls)]


def _has_layer(m):
    from .patterns import is_any_conv

    return any(is_any_conv(s) or isinstance(s, torch.nn.Linear) for s in m.modules())
