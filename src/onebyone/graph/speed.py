"""Time several models on one input, interleaved round-robin, and report medians.

On a shared 2-core machine absolute times drift; interleaving makes each round compare the
candidates under the same load, and the median discards rounds hit by a neighbour's job.

Denormals: torchvision models with random weights (efficientnet_b0, resnet50, ...) produce
subnormal floats whose arithmetic is ~50x slower on x86; measured here efficientnet_b0 at
64x64 took 1.4 s per call eagerly and 0.024 s with them flushed. Trained models rarely do
this, so timing (and optimize's verification runs) flush denormals to zero, then restore.
"""
import contextlib

import torch

from ..timing import interleaved
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


@torch.inference_mode()
def time_models(models, inputs, runs=7, warmup=2):
    """{name: median seconds per call} for models {name: callable} on the tuple `inputs`,
    interleaved round-robin (onebyone.timing), with denormals flushed (see above).

    >>> t = time_models({"relu": torch.nn.ReLU()}, (torch.randn(8),), runs=3, warmup=1)
    >>> list(t), t["relu"] > 0
    (['relu'], True)
    """
    calls = {name: (lambda model=model: model(*inputs)) for name, model in models.items()}
    with denormals_flushed():
        return interleaved(calls, warmup=warmup, min_rounds=runs, max_rounds=runs)
