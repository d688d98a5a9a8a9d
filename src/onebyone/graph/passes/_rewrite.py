"""The few helpers every pass is built from: copy, look up, replace, tidy."""
import copy
from collections import Counter

from ..patterns import module  # noqa: F401  (re-exported for the passes)
from ..reports import PassReport


def clone(gm):
    """A deep copy: passes never touch the graph they are given."""
    return copy.deepcopy(gm)


def called_once(gm, *nodes):
    """True if each node's module is called by that node only (a shared module can't be rewritten
    for one call site without changing the others)."""
    calls = Counter(n.target for n in gm.graph.nodes if n.op == "call_module")
    return all(calls[n.target] == 1 for n in nodes)


def set_module(gm, target, new):
    """Put `new` at the dotted path `target`, replacing what is there."""
    parent, _, name = target.rpartition(".")
    setattr(gm.get_submodule(parent) if parent else gm, name, new)


def free_name(gm, base):
    """`base`, or `base_1`, `base_2`, ... whichever names no submodule yet."""
    existing = dict(gm.named_modules())
    name, i = base, 0
    while name in existing:
        i += 1
        name = f"{base}_{i}"
    return name


def finish(gm):
    """Check the graph, drop modules nothing calls any more, regenerate forward()."""
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm


# Why a rewrite that would fuse parameters of different requires_grad into one is skipped.
MIXED_GRAD = "parameters differ in requires_grad (one weight cannot be both)"


def requires_grad(*modules):
    """The requires_grad flag all the modules' parameters share, or None if they differ (a
    rewrite that fuses them into one tensor could not keep both, so it must not happen)."""
    flags = {p.requires_grad for m in modules for p in m.parameters()}
    return flags.pop() if len(flags) == 1 else None


def keep_requires_grad(new, flag):
    """`new` with every parameter's requires_grad set to flag: rewrites build modules afresh,
    and a fresh parameter is trainable, so a frozen layer would thaw."""
    for p in new.parameters():
        p.requires_grad_(flag)
    return new


def report(name, details, skipped=()):
    """The pass's report: what it rewrote (details) and left alone, with why (skipped)."""
    return PassReport(name, details, skipped)
