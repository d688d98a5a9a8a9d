"""The int8 part of optimize's report, for the terminal: per pointwise layer int8 or float and
why, the share of MACs in int8, float vs int8 timed interleaved, and what was returned.

Renderers only format; every number was measured by graph.int8.select.
"""
from collections import Counter

from ..._table import print_table
from ..._units import human


def lines(int8):
    """The report's sentences, in order (the per-layer table is print_int8's).

    >>> r = {"calibration": "2 inputs given by the caller", "held_out": "the one calibration input",
    ...      "budget": "relative error <= 5e-02", "layers": [], "int8_macs_share": 0.5,
    ...      "reduce_range": {"kept": False, "off": 0.01, "on": 0.02}, "targets": {},
    ...      "fp32": {"target": "onnxruntime", "ms": 1.0}, "returned": "fp32", "why": "slower",
    ...      "verified": "within the budget"}
    >>> lines(r)[0]
    'int8 calibrated on 2 inputs given by the caller; judged on the one calibration input'
    """
    out = [f"int8 calibrated on {int8['calibration']}; judged on {int8['held_out']}",
           f"int8 budget: {int8['budget']}; verified {int8['verified']}"]
    rr = int8["reduce_range"]
    out.append(f"reduce_range measured: error {rr['off']:.1e} without, {rr['on']:.1e} with: "
               f"{'kept' if rr['kept'] else 'not used'}")
    others = Counter((r["kind"], r["precision"]) for r in int8["layers"] if r["kind"] != "pointwise")
    if others:
        out.append("other layers: " + ", ".join(f"{n} {kind} {precision}"
                                                for (kind, precision), n in sorted(others.items())))
    out.append(f"share of the layers' MACs in int8: {100 * int8['int8_macs_share']:.1f}%")
    for target, t in int8["targets"].items():
        if t["int8_ms"] is None:
            out.append(f"{target}: float {t['float_ms']:.2f} ms; int8 not timed: {t['why']}")
        else:
            out.append(f"{target}: float {t['float_ms']:.2f} ms, int8 {t['int8_ms']:.2f} ms "
                       f"({t['speedup']:.2f}x, interleaved medians); {t['why']}")
    fp32 = int8["fp32"]
    out.append(f"fp32 result on {fp32['target']}: {fp32['ms']:.2f} ms")
    if int8.get("final_ms"):  # the first run put fp32 and int8 within CLOSE of each other
        out.append("timed again head to head: " + ", ".join(f"{name} {ms:.2f} ms"
                                                             for name, ms in int8["final_ms"].items()))
    out.append(f"returned {int8['returned']}: {int8['why']}")
    return out


def print_int8(int8, console):
    """The pointwise layers' table, then lines()."""
    rows = [[r["module"], human(r["macs"], spec=".1f", sep=""), r["precision"], r["why"]]
            for r in int8["layers"] if r["kind"] == "pointwise"]
    if rows:
        print_table(console, "int8: every pointwise layer", ("module", "MACs", "precision", "why"),
                    rows, numbers=("MACs",), sentences=("why",))
    for line in lines(int8):
        console.print(line, markup=False, highlight=False)
