"""torch's process-wide settings, left exactly as the user had them after any call of ours.

optimize flushes denormals, builds modules (which draws from the global random generator) and
runs models; the user's process must not notice: their flush-denormal setting, grad mode,
thread count, default dtype and random stream are the same after the call as before it.
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
