"""Int8 for the engines, within the user's error budget: optimize(precision="int8").

budget.py (what int8 may cost, judged on held-out inputs), samples.py (calibration and
held-out inputs), quantize.py (onnxruntime.quantization's static QDQ, calibrated once),
search.py (which layers stay float, by measurement), select.py (int8 beside fp32, timed
interleaved, the fastest within budget), render.py (the per-layer report).
"""
from .budget import Budget
from .select import TARGETS, check_targets, prepare, select

__all__ = ["Budget", "TARGETS", "check_targets", "prepare", "select"]
