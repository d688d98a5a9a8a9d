"""Subnormal floats flushed to zero while we time or verify, and the caller's setting restored.

(The interleaved timing itself is graph/targets.time_models, over onebyone.timing.)

Denormals: torchvision models with random weights (efficientnet_b0, resnet50, ...) produce
subnormal floats whose arithmetic is ~50x slower on x86; measured here efficientnet_b0 at
64x64 took 1.4 s per call eagerly and 0.024 s with them flushed. Trained models rarely do
this, so timing (and optimize's verification runs) flush denormals to zero, then restore.
"""
import contextlib

import torch

from .state import flush_denormal


@contextlib.contextmanager
def denormals_flushed():
    """Flush subnormal floats to zero inside the block, then restore the setting found.

    >>> before = flush_denormal()
    >>> with denormals_flushed():
    ...     inside = flush_denormal()
    >>> flush_denormal() == before, inside or not torch.set_flush_denormal(False)  # CPU can't?
    (True, True)
    """
    before = flush_denormal()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)
