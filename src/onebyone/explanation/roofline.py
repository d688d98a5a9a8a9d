"""Bytes moved, arithmetic intensity, and which roof (memory or compute) limits the layer.

Peaks are either measured here (an SGEMM and a large copy, medians of a few runs, about a
second) or assumed, and the facts always say which, so nobody mistakes a guess for a measurement.
"""
from math import prod

from . import facts

# Assumed peaks when not measured: round numbers for one or two cores of a current server CPU.
ASSUMED_FLOPS = 100e9  # FLOP/s, float32 GEMM
ASSUMED_BANDWIDTH = 10e9  # bytes/s, main memory
FLOAT32 = 4


def roofline(layer, cost, peaks=None):
    """Roofline facts for `layer`; `peaks` is (flop/s, bytes/s, source) or None for assumed."""
    measured = peaks is not None
    if peaks is None:
        peaks = (ASSUMED_FLOPS, ASSUMED_BANDWIDTH,
                 "assumed: 100 GFLOP/s and 10 GB/s, not measured (measure=True / --measure)")
    peak_flops, bandwidth, source = peaks
    cin_g = layer.in_channels // layer.groups
    elements = (
        prod(layer.input_shape_nchw)
        + layer.out_channels * cin_g * prod(layer.kernel)
        + (layer.out_channels if layer.bias else 0)
        + prod(layer.output_shape_nchw)
    )
    moved = elements * FLOAT32
    intensity = cost.flops / moved
    balance = peak_flops / bandwidth
    return facts.Roofline(
        dtype_bytes=FLOAT32, bytes_moved=moved, intensity=intensity, peak_flops=peak_flops,
        peak_bandwidth=bandwidth, peaks_source=source, peaks_measured=measured, balance=balance,
        bound="memory" if intensity < balance else "compute",
        min_time_s=max(cost.flops / peak_flops, moved / bandwidth),
    )


def measure_peaks(repeats=5):
    """(FLOP/s of a 1024^3 float32 matmul, bytes/s of a 64 MB copy, source), medians."""
    import torch

    from ..timing import interleaved

    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    src, dst = torch.empty(16 * 2**20), torch.empty(16 * 2**20)
    # One warm-up call each: first touches of memory and thread pools are not the steady state.
    t = interleaved({"matmul": lambda: torch.mm(a, b), "copy": lambda: dst.copy_(src)},
                    warmup=1, min_rounds=repeats, max_rounds=repeats, budget_s=0.0)
    flops = 2 * 1024**3 / t["matmul"]
    bandwidth = 2 * src.numel() * 4 / t["copy"]  # read + write
    source = (f"measured here: float32 1024^3 matmul {flops / 1e9:.1f} GFLOP/s, 64 MB copy "
              f"{bandwidth / 1e9:.1f} GB/s, torch {torch.get_num_threads()} threads, medians "
              f"of {repeats}")
    return flops, bandwidth, source
