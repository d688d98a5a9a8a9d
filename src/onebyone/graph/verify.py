"""Does a rewritten model compute what the original did? Compare outputs on several inputs.

The error is max |new - old| / max |old| over every output element (errors relative to the
output's scale, so one tolerance fits logits and feature maps alike). Tolerances per dtype:

| dtype    | tolerance | why                                                                      |
|----------|-----------|--------------------------------------------------------------------------|
| float64  | 1e-9      | exact rewrites only reorder sums; ~1e-15 per op, deep nets add up        |
| float32  | 1e-4      | folded weights round once (~1e-7 each); through 50+ layers with random    |
|          |           | BatchNorm statistics we measured up to ~1.5e-6 on the eight test models  |
| float16  | 1e-2      | 11-bit mantissa                                                          |
| bfloat16 | 5e-2      | 8-bit mantissa                                                           |
"""
import torch
from torch.utils._pytree import tree_flatten

TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 5e-2}


def check_inputs(example, n_random=2, seed=0):
    """The user's example plus n_random inputs of the same shapes and dtypes (seeded).

    >>> [tuple(t.shape) for (t,) in check_inputs((torch.zeros(1, 3, 4, 4),), n_random=2)]
    [(1, 3, 4, 4), (1, 3, 4, 4), (1, 3, 4, 4)]
    """
    gen = torch.Generator().manual_seed(seed)
    randoms = [tuple(torch.randn(t.shape, generator=gen, dtype=t.dtype) if t.is_floating_point()
                     else t for t in example) for _ in range(n_random)]
    return [tuple(example)] + randoms


@torch.no_grad()
def outputs(model, inputs_list):
    """Every output tensor of model on every input, flattened, in order."""
    return flatten(model(*inputs) for inputs in inputs_list)


def flatten(results):
    """The tensors in an iterable of model results (tensors, tuples, dicts ...), in order."""
    return [leaf for result in results for leaf in tree_flatten(result)[0]
            if isinstance(leaf, torch.Tensor)]


def error(reference, candidate):
    """max |candidate - reference| / max |reference| over all tensors (0 if both are empty).

    >>> round(error([torch.tensor([1.0, -4.0])], [torch.tensor([1.0, -3.996])]), 6)
    0.001
    """
    if len(reference) != len(candidate):
        return float("inf")
    worst, scale = 0.0, 0.0
    for r, c in zip(reference, candidate):
        if r.shape != c.shape:
            return float("inf")
        if r.numel():
            worst = max(worst, float((c.double() - r.double()).abs().max()))
            scale = max(scale, float(r.double().abs().max()))
    return worst / scale if scale else worst


def tolerance(reference):
    """The loosest tolerance among the reference outputs' dtypes."""
    return max((TOLERANCE.get(t.dtype, 1e-4) for t in reference), default=1e-4)
