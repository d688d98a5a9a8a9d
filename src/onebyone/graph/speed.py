"""Time several models on one input, interleaved round-robin, and report medians.

On a shared 2-core machine absolute times drift; interleaving makes each round compare the
candidates under the same load, and the median discards rounds hit by a neighbour's job.
"""
import statistics
import time

import torch


@torch.inference_mode()
def time_models(models, inputs, runs=7, warmup=2):
    """{name: median seconds per call} for models {name: callable} on the tuple `inputs`.

    >>> t = time_models({"relu": torch.nn.ReLU()}, (torch.randn(8),), runs=3, warmup=1)
    >>> list(t), t["relu"] > 0
    (['relu'], True)
    """
    for _ in range(warmup):
        for model in models.values():
            model(*inputs)
    times = {name: [] for name in models}
    for _ in range(runs):
        for name, model in models.items():
            start = time.perf_counter()
            model(*inputs)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}
