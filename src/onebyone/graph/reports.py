"""The reports a pass and optimize return: typed records that read like the JSON they write.

Every field is declared here, once, with its meaning; the code that fills a report sets
attributes (``step.kept = ...``), and nobody adds keys on the way. A record also reads as the
mapping its ``to_dict()`` gives (``report["passes"][0]["pass"]``), so the Python and the JSON
of a report say the same thing under the same names. Optional fields (``OPTIONAL``) are absent
from that mapping while they are None: a pass that did not fail has no "failure".
"""
from collections.abc import Mapping
from dataclasses import dataclass, field, fields


class Record(Mapping):
    """A dataclass that reads as its to_dict(): report["target"] is report.target.

    >>> step = PassReport("fold_bn", ["bn folded into conv"])
    >>> step["pass"], step.changed, "failure" in step
    ('fold_bn', 1, False)
    """

    __slots__ = ()  # the records are slotted: a field nobody declared cannot be set
    KEYS = {}  # field -> key, where the key is not a Python name ("pass")
    OPTIONAL = ()  # fields left out while None

    def _items(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in self.OPTIONAL:
                continue
            yield self.KEYS.get(f.name, f.name), value

    def __getitem__(self, key):
        for k, value in self._items():
            if k == key:
                return value
        raise KeyError(key)

    def __iter__(self):
        return (k for k, _ in self._items())

    def __len__(self):
        return sum(1 for _ in self._items())

    def to_dict(self):
        """Plain data for JSON: nested records, lists and dicts of them, all made plain."""
        return {k: _plain(v) for k, v in self._items()}


def _plain(value):
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(eq=False, slots=True)
class PassReport(Record):
    """One pass over one graph: what it changed, what it skipped and why, and, once
    graph.steps has verified it, the output error against the graph before, the tolerance, and
    whether the rewrite was kept (a pass beyond tolerance or that failed is rolled back)."""

    name: str  # the pass, as in passes.PASSES ("pass" in the mapping)
    details: list = field(default_factory=list)  # one line per rewrite made
    skipped: list = field(default_factory=list)  # one line per candidate left alone, with why
    changed: int = None  # rewrites made: len(details) unless given
    modules: list = None  # merge_parallel: the merged modules' paths
    error: float = None
    tolerance: float = None
    kept: bool = None
    failure: str = None  # why the pass crashed or broke the graph

    KEYS = {"name": "pass"}
    OPTIONAL = ("modules", "failure")

    def __post_init__(self):
        self.details, self.skipped = list(self.details), list(self.skipped)
        if self.changed is None:
            self.changed = len(self.details)

    def absorb(self, path, inner):
        """Add the report of the same pass on a part at ``path`` (a module kept whole)."""
        self.changed += inner.changed
        self.details += [f"{path}: {d}" for d in inner.details]
        self.skipped += [f"{path}: {d}" for d in inner.skipped]
        if inner.modules is not None:
            self.modules = (self.modules or []) + [f"{path}.{m}" for m in inner.modules]


@dataclass(eq=False, slots=True)
class Choice(Record):
    """Which engine won (graph.targets.fastest): ``target``, and ``plain_chosen`` when it won
    on the model as it is. ``targets``: per target {"ms", "final_ms" (when timed again among
    the finalists), "warmup_s", "error", "tolerance", "passes", "trials"} or {"dropped": why};
    ``plain``: the same for each engine on the model as it is; ``skipped``: {target: why}
    for targets whose package is not installed; ``speed``, when the model was timed beside the
    candidates: it against the winner in the run that decided."""

    target: str = None
    plain_chosen: bool = False
    targets: dict = field(default_factory=dict)
    plain: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    speed: "Speed" = None

    OPTIONAL = ("speed",)


@dataclass(eq=False, slots=True)
class Speed(Record):
    """The model and the result timed interleaved in the run that chose the result (with the
    other candidates): medians of ``runs`` rounds."""

    before_ms: float
    after_ms: float
    runs: int
    denormals: str = "flushed"  # every engine timed with subnormal floats flushed to zero

    @property
    def speedup(self):
        return self.before_ms / self.after_ms

    def _items(self):
        yield from (("before_ms", self.before_ms), ("after_ms", self.after_ms),
                    ("speedup", self.speedup), ("runs", self.runs), ("denormals", self.denormals))


@dataclass(eq=False, slots=True)
class Int8Report(Record):
    """What precision="int8" did (graph.int8.select): the ``calibration`` and ``held_out``
    inputs in words, the ``budget`` in words, per pointwise layer (``layers``: its census row,
    "node", "precision" int8 or float, and "why"), the ``int8_macs_share`` of their MACs,
    ``reduce_range`` and the quantized ``builds`` tried, whether the budget was ``met``, per
    int8 target (``targets``: "met", "error", "agreement", "why", "float_ms", "int8_ms",
    "speedup", "warmup_s"), the ``fp32`` result it raced ({"target", "ms"}), how the int8
    engine was ``verified``, the head-to-head's ``final_ms`` when there was one, and what was
    ``returned`` ("int8" or "fp32") and ``why``."""

    calibration: str
    held_out: str
    budget: str
    layers: list
    int8_macs_share: float
    reduce_range: bool
    builds: int
    met: bool
    targets: dict
    fp32: dict
    verified: str
    final_ms: dict = None
    returned: str = None
    why: str = None

    OPTIONAL = ("final_ms",)


@dataclass(eq=False, slots=True)
class OptimizeReport(Record):
    """What optimize did: each pass (``passes``), the graph's params and MACs ``before`` and
    ``after``, the result's output ``error`` against the model and its ``tolerance`` (for
    int8: the budget's), the ``precision`` returned, the ``input`` shapes, the engine choice
    (``target``, ``plain_chosen``, ``targets``, ``plain``, ``skipped``: see Choice), ``int8``
    (precision="int8" only: per layer what ran int8 and why, see graph.int8), ``speed``
    (None unless timed), the modules ``kept_whole`` and, from the CLI, the file ``saved``."""

    passes: list
    before: dict
    after: dict
    error: float
    tolerance: float
    precision: str
    input: list
    target: str
    plain_chosen: bool = False
    targets: dict = field(default_factory=dict)
    plain: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    int8: Int8Report = None
    speed: Speed = None
    kept_whole: list = field(default_factory=list)
    saved: str = None

    OPTIONAL = ("int8", "saved")
