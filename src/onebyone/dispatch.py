"""method="auto": which formulation runs for which call."""
from . import _arrays
from .formulations import FORMULATIONS


def run(call, x, w, bias):
    """Run the formulation chosen for this call on a channels-first x."""
    name = "torch" if _arrays.is_tensor(x) else "gemm"
    y = FORMULATIONS[name](x, w, bias, call.stride, call.padding, call.groups)
    from .core import _keep_memory_format

    return _keep_memory_format(x, y)
