"""onebyone: the 1x1 (pointwise) convolution, exact, fast, explained, and optimized in real networks.

>>> import numpy as np, onebyone
>>> x = np.ones((1, 3, 4, 4)); w = np.full((2, 3), 0.5)
>>> onebyone.conv1x1(x, w).shape
(1, 2, 4, 4)
"""
import importlib

from .core import conv1x1
from .errors import OneByOneError

__version__ = "0.1.0"
__all__ = [
    "conv1x1", "Conv1x1", "OneByOneError", "tune",  # the op, exact and fast
    "explain",  # the op, explained
    "inspect", "optimize",  # real networks
    "nn", "weights", "blocks",  # modules: Conv1x1, weight layouts, blocks built from 1x1 convs
]

# Heavy names load on first use, so `import onebyone` does not import torch.
_LAZY = {
    "Conv1x1": ("onebyone.nn", "Conv1x1"),
    "nn": ("onebyone.nn", None),
    "weights": ("onebyone.weights", None),
    "blocks": ("onebyone.blocks", None),
    "tune": ("onebyone.core", "tune"),
    "explain": ("onebyone.explanation", "explain"),
    "inspect": ("onebyone.graph", "inspect"),
    "optimize": ("onebyone.graph", "optimize"),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'onebyone' has no attribute {name!r}")
    module, attr = _LAZY[name]
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
