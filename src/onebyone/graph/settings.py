"""torch's process-wide settings: what we change while we work, and the user's given back.

Denormals: torchvision models with random weights (efficientnet_b0, resnet50, ...) produce
subnormal floats whose arithmetic is ~50x slower on x86; measured here efficientnet_b0 at
64x64 took 1.4 s per call eagerly and 0.024 s with them flushed. Trained models rarely do
this, so timing (graph/targets.time_models, over onebyone.timing), verification and the engines
flush denormals to zero inside ``denormals_flushed``, which restores the setting it found.

Everything else: optimize flushes denormals, builds modules (which draws from the global random
generator) and runs models; the user's process must not notice. ``settings_kept`` gives back
their flush-denormal setting, grad mode, thread count, default dtype and random stream.
"""
import contextlib

import torch


def flush_denormal():
    """Whether torch flushes subnormal floats to zero on this thread now (torch has a setter
    only, so look: the smallest subnormal float32 doubled is 0 only when flushing).

    >>> before = flush_denormal()
    >>> torch.set_flush_denormal(True) and flush_denormal()  # False if the CPU cannot flush
    True
    >>> _ = torch.set_flush_denormal(before)
    """
    tiny = torch.tensor([1], dtype=torch.int32).view(torch.float32)  # 1.4e-45, a subnormal
    return bool((tiny * 2).item() == 0)


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


@contextlib.contextmanager
def settings_kept():
    """Inside the block anything may change torch's global settings; they are restored after.

    >>> with settings_kept():
    ...     _ = torch.set_grad_enabled(False)
    ...     _ = torch.randn(3)
    >>> torch.is_grad_enabled()
    True
    """
    flush, grad = flush_denormal(), torch.is_grad_enabled()
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    try:
        with torch.random.fork_rng(devices=[]):  # the CPU generator; CUDA's are left alone
            yield
    finally:
        torch.set_flush_denormal(flush)
        torch.set_grad_enabled(grad)
        if torch.get_num_threads() != threads:  # setting it again is not free: only if changed
            torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)
