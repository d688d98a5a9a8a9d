"""Choose the memory format by a rule: channels_last when the model runs 2-D convs on 4-D input.

Why a rule and not a measurement: on CPU, torch's oneDNN convolutions work in NHWC and reorder
an NCHW tensor on every call; for a 2-D CNN channels_last removes those reorders (issue 5
measured torch.fx fuse + channels_last at about 2-3x eager on mobilenet_v2 here). Timing both
formats inside a pass would make optimize slow and, on this shared machine, not repeatable.
Values are unchanged; 4-D outputs come back in channels_last strides.
"""
import torch

from ..patterns import is_conv
from ..trace import shape_of
from ._rewrite import clone, finish, module, report


def memory_format(gm):
    """A copy of gm that keeps 4-D weights and inputs in channels_last, if the rule says so.

    >>> from onebyone.graph.trace import trace, propagate
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    >>> gm, rep = memory_format(propagate(trace(model), (torch.randn(1, 3, 8, 8),)))
    >>> rep["details"]
    ['channels_last for input input_1']
    """
    gm = clone(gm)
    has_2d_conv = any(is_conv(module(gm, n)) and module(gm, n).weight.ndim == 4
                      for n in gm.graph.nodes)
    inputs = [n for n in gm.graph.nodes if n.op == "placeholder" and len(shape_of(n) or ()) == 4]
    if not (has_2d_conv and inputs):
        return finish(gm), report("memory_format", [], ["no 2-D conv on a 4-D input: contiguous"])
    gm.to(memory_format=torch.channels_last)
    done = []
    for ph in inputs:
        with gm.graph.inserting_after(ph):
            cl = gm.graph.call_method("contiguous", (ph,), {"memory_format": torch.channels_last})
        ph.replace_all_uses_with(cl, delete_user_cb=lambda user: user is not cl)
        cl.meta = dict(ph.meta)
        done.append(f"channels_last for input {ph.name}")
    return finish(gm), report("memory_format", done)
