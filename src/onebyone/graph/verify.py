"""Does a rewritten model compute what the original did? Compare outputs on several inputs.

The proof must not be foolable, so ``compare`` judges every output tensor on its own:

- floating outputs: max |new - old| / max |old| over that tensor (relative to its own scale, so a
  sigmoid score beside boxes of size 1e4 is not drowned out); the error is the worst tensor's.
  A NaN or inf in the candidate where the reference holds a finite value (or a finite value
  where the reference holds NaN/inf) is an infinite error: Python's max would skip a NaN.
  NaN where the reference is NaN at the same place, or the same inf, is not an error.
- integer and bool outputs must be equal exactly (else infinite error);
- a different structure, shape or dtype is an infinite error.

Tolerances per dtype (the loosest among the reference's floating outputs applies):

| dtype    | tolerance | why                                                                      |
|----------|-----------|--------------------------------------------------------------------------|
| float64  | 1e-9      | exact rewrites only reorder sums; ~1e-15 per op, deep nets add up        |
| float32  | 1e-4      | folded weights round once (~1e-7 each); through 50+ layers with random    |
|          |           | BatchNorm statistics we measured up to ~1.5e-6 on the eight test models  |
| float16  | 1e-2      | 11-bit mantissa                                                          |
| bfloat16 | 5e-2      | 8-bit mantissa                                                           |
"""
import torch
from torch.fx.immutable_collections import immutable_dict, immutable_list
from torch.utils._pytree import keystr, tree_flatten, tree_flatten_with_path

TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 5e-2}
INF = float("inf")
CHECK_STREAM = 1_000_003  # added to the seed of check_inputs' random stream


def check_inputs(example, n_random=2, seed=0):
    """The user's example plus n_random inputs of the same shapes, dtypes and devices (seeded).

    >>> [tuple(t.shape) for (t,) in check_inputs((torch.zeros(1, 3, 4, 4),), n_random=2)]
    [(1, 3, 4, 4), (1, 3, 4, 4), (1, 3, 4, 4)]
    """
    # On the CPU: same numbers whatever the device. A stream of its own: trace.make_inputs draws
    # an example given as a shape from ``seed`` itself, and the first check input was then that
    # example again (one fewer distinct input than the proof claims).
    gen = torch.Generator().manual_seed(seed + CHECK_STREAM)
    randoms = [tuple(torch.randn(t.shape, generator=gen, dtype=t.dtype).to(t.device)
                     if t.is_floating_point() else t for t in example) for _ in range(n_random)]
    return [tuple(example)] + randoms


@torch.no_grad()
def outputs(model, inputs_list):
    """model's result on each input tuple, as a list (compare reads any nesting).

    >>> outputs(torch.nn.ReLU(), [(torch.tensor([-1.0, 2.0]),)])
    [tensor([0., 2.])]
    """
    return [model(*inputs) for inputs in inputs_list]


def compare(reference, candidate):
    """How far candidate is from reference: both a tensor or any nesting of lists, tuples and
    dicts of tensors (e.g. one model output, or a list of them). Returns plain data:
    ``{"error": worst relative error, "worst": path of the worst output ("" if none), "why":
    what made it worst, "errors": {path: error}}``.

    >>> ref = {"boxes": torch.tensor([1e4, 2e4]), "scores": torch.tensor([0.5, 0.6])}
    >>> out = compare(ref, {"boxes": ref["boxes"], "scores": torch.tensor([0.5, 0.43])})
    >>> out["worst"], round(out["error"], 3)
    ("['scores']", 0.283)
    >>> compare([torch.tensor([1.0, 2.0])], [torch.tensor([float("nan"), 2.0])])["error"]
    inf
    """
    ref, ref_spec = tree_flatten_with_path(_mutable(reference))
    cand, cand_spec = tree_flatten(_mutable(candidate))
    if ref_spec != cand_spec:
        return {"error": INF, "worst": "", "why": "different output structure", "errors": {}}
    result = {"error": 0.0, "worst": "", "why": "", "errors": {}}
    for (path, r), c in zip(ref, cand):
        name = keystr(path)
        err, why = _one(r, c)
        result["errors"][name] = err
        if err > result["error"]:
            result.update(error=err, worst=name, why=why)
    return result


def _mutable(x):
    """torch.fx's interpreter returns immutable_dict / immutable_list where the model returns
    dict / list: the same structure under another type name, which pytree would tell apart."""
    if isinstance(x, immutable_dict) or type(x) is dict:
        return {k: _mutable(v) for k, v in x.items()}
    if isinstance(x, immutable_list) or type(x) is list:
        return [_mutable(v) for v in x]
    if type(x) is tuple:
        return tuple(_mutable(v) for v in x)
    return x


def _one(r, c):
    """(error, why) for one output: relative to max |r| over r's finite values."""
    if not (isinstance(r, torch.Tensor) and isinstance(c, torch.Tensor)):
        return (0.0, "") if r == c else (INF, f"{r!r} became {c!r}")
    if r.shape != c.shape or r.dtype != c.dtype:
        return INF, f"{r.dtype}{list(r.shape)} became {c.dtype}{list(c.shape)}"
    if r.numel() == 0:
        return 0.0, ""
    r, c = r.detach().cpu(), c.detach().cpu()
    if not r.is_floating_point():
        return (0.0, "") if torch.equal(r, c) else (INF, "integer values differ")
    r, c = r.double(), c.double()
    finite = torch.isfinite(r)
    same_special = (r.isnan() & c.isnan()) | (~finite & (r == c))
    if bool((finite != torch.isfinite(c)).any()) or not bool((finite | same_special).all()):
        return INF, "NaN or inf where the reference differs"
    if not bool(finite.any()):
        return 0.0, ""
    worst = float((c[finite] - r[finite]).abs().max())
    scale = float(r[finite].abs().max())
    return (worst / scale if scale else worst), "max |difference| / max |reference|"


def error(reference, candidate):
    """compare(reference, candidate)["error"]: the worst per-output relative error.

    >>> round(error([torch.tensor([1.0, -4.0])], [torch.tensor([1.0, -3.996])]), 6)
    0.001
    """
    return compare(reference, candidate)["error"]


def tolerance(reference):
    """The loosest tolerance among the reference's floating output dtypes (float32's if none)."""
    dtypes = [t.dtype for t in tree_flatten(reference)[0]
              if isinstance(t, torch.Tensor) and t.is_floating_point()]
    return max((TOLERANCE.get(d, 1e-4) for d in dtypes), default=1e-4)
