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

# Order matters: folding BN exposes conv -> conv chains; collapsing before merging keeps
# shapes on every node it reads; swap and memory_format only change how convs run.
PASSES = {
    "fold_bn": _fold_bn,
    "collapse": _collapse,
    "merge_parallel": _merge_parallel,
    "low_rank": _low_rank,
    "swap": _swap,
    "memory_format": _memory_format,
}
DEFAULT = ("fold_bn", "collapse", "merge_parallel", "swap", "memory_format")
