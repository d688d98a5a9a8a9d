"""Graph passes, one file each: each is `pass(gm, **options) -> (new_gm, report)`, never in place.

PASSES is the order optimize runs them in; DEFAULT leaves out the lossy low_rank.
"""
# Imported under private names: `passes.collapse` etc. stay the modules (import the functions
# from them, e.g. `from onebyone.graph.passes.collapse import collapse`).
from .collapse import collapse as _collapse
from .fold_bn import fold_bn as _fold_bn
from .low_rank import low_rank as _low_rank
from .memory_format import memory_format as _memory_format
from .merge_parallel import merge_parallel as _merge_parallel
from .swap import swap as _swap
from ..leaves import walk
from ._rewrite import set_module


def _inside_leaves(run):
    """The pass `run`, also applied to each part traced inside a module kept whole
    (onebyone.graph.leaves.walk): the leaf's own Python stays, its traceable parts are
    rewritten. The part's reports join the pass's, each line under the part's path."""

    def everywhere(gm, **options):
        new, rep = run(gm, **options)
        for path, part, _ in list(walk(new)):  # outer parts first: an inner one lands in its new outer
            rewritten, inner = run(part, **options)
            rewritten.meta.update(part.meta)  # still a part, called as often
            set_module(new, path, rewritten)
            rep.absorb(path, inner)
        return new, rep

    everywhere.__doc__, everywhere.__name__ = run.__doc__, run.__name__
    return everywhere


# Order matters: folding BN exposes conv -> conv chains; collapsing before merging keeps
# shapes on every node it reads; swap and memory_format only change how convs run (the
# channels_last conversion of the whole model covers the parts inside leaves too).
PASSES = {
    "fold_bn": _inside_leaves(_fold_bn),
    "collapse": _inside_leaves(_collapse),
    "merge_parallel": _inside_leaves(_merge_parallel),
    "low_rank": _inside_leaves(_low_rank),
    "swap": _inside_leaves(_swap),
    "memory_format": _memory_format,
}
DEFAULT = ("fold_bn", "collapse", "merge_parallel", "swap", "memory_format")
