"""Swap each remaining nn.Conv{1,2,3}d with a 1x1 kernel for onebyone's Conv1x1."""
from ...nn import Conv1x1
from ..patterns import is_1x1
from ._rewrite import clone, finish, report, set_module


def swap(gm, method="auto"):
    """A copy of gm whose 1x1 nn.Conv modules are Conv1x1 (same weights, same outputs).

    >>> import torch
    >>> from onebyone.graph.trace import trace
    >>> gm, rep = swap(trace(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.ReLU())))
    >>> type(gm.get_submodule("0")).__name__, rep["changed"]
    ('Conv1x1', 1)
    """
    gm = clone(gm)
    done = []
    for target in dict.fromkeys(n.target for n in gm.graph.nodes if n.op == "call_module"):
        m = gm.get_submodule(target)
        if is_1x1(m) and not isinstance(m, Conv1x1):
            new = Conv1x1.from_conv(m, method=method).train(m.training)
            for name, p in new.named_parameters():  # weight and bias: each keeps its own flag
                p.requires_grad_(getattr(m, name).requires_grad)
            set_module(gm, target, new)
            done.append(f"{target} -> Conv1x1")
    return finish(gm), report("swap", done)
