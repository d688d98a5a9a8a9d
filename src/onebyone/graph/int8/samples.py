"""Calibration and held-out inputs for int8: the user's own, or random ones said in words.

Both are read by onebyone.graph.calibration.inputs (a directory of images preprocessed by
mean/std/size, a .npy/.pt tensor file, a tensor, an iterable of tensors or tuples; None for
seeded random inputs, and its sentence says so).

Held-out inputs judge the budget and are never calibrated on: the user's ``held_out`` if given
(every input of it, in order, so a metric can read the user's labels; its samples that are also
calibration samples are counted in its words), else with random
calibration fresh random inputs of another seed, else the last quarter of the user's inputs
(the rest calibrate; with a single input, that one judges too, and the report says so).
"""
import hashlib

import torch

from ..calibration import inputs

COUNT = 16  # random calibration inputs (the issue measured 16 random inputs: 2-5 s)
HELD_OUT = 8  # random held-out inputs
GIVEN = 64  # at most this many of the user's calibration inputs are read (a quarter held out)


def split(calibration, held_out, example, preprocess=None, seed=0):
    """(calibration inputs, held-out inputs, {"calibration": words, "held_out": words}).

    >>> import torch
    >>> calib, held, words = split([torch.ones(1, 2)] * 8, None, (torch.zeros(1, 2),))
    >>> len(calib), len(held), words["held_out"]
    (6, 2, 'the last 2 of the 8 inputs given (the other 6 calibrate)')
    >>> words["calibration"]
    'the first 6 of 8 inputs from the given data, values in [1, 1]'
    """
    preprocess = preprocess or {}
    calib, words = inputs(calibration, example, count=COUNT if calibration is None else GIVEN,
                          seed=seed, **preprocess)
    if held_out is not None:
        held, held_words = inputs(held_out, example, count=None, seed=seed + 1, **preprocess)
        calibrated = set(_samples(calib))
        held_samples = list(_samples(held))
        shared = sum(s in calibrated for s in held_samples)
        if shared:  # the user's choice, but the report must not call them held out unsaid
            held_words += (f"; {shared} of their {len(held_samples)} samples also calibrate, so "
                           "the budget is judged partly on inputs int8 was fitted to")
    elif calibration is None:
        held, held_words = inputs(None, example, count=HELD_OUT, seed=seed + 1)
    elif len(calib) == 1:
        held, held_words = calib, "the one calibration input (no other was given)"
    else:
        n = max(1, len(calib) // 4)
        calib, held = calib[:-n], calib[-n:]
        words = f"the first {len(calib)} of {words}"
        held_words = f"the last {n} of the {len(calib) + n} inputs given (the other {len(calib)} calibrate)"
    return calib, held, {"calibration": words, "held_out": held_words}


def _samples(inputs):
    """A fingerprint per sample (row i of each tensor of an input tuple), so overlap is found
    whatever the batching, in one pass over each set; a tuple whose tensors do not share a
    batch size is one sample."""
    for x in inputs:
        sizes = {t.shape[0] if t.dim() else None for t in x}
        if len(sizes) == 1 and None not in sizes:
            for i in range(sizes.pop()):
                yield tuple(_digest(t[i]) for t in x)
        else:
            yield tuple(_digest(t) for t in x)


def _digest(t):
    raw = t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return tuple(t.shape), str(t.dtype), hashlib.blake2b(raw, digest_size=16).digest()
