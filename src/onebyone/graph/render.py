"""Format inspect / optimize results: rich tables, JSON, and a PNG of where the MACs go.

Renderers only format; every number was computed by inspect or optimize.
"""
import json
import math

from rich.console import Console
from .._files import write_atomic
from .._table import print_table
from .._units import human


def _n(x):
    """12345678 -> '12.3M'."""
    return human(x, spec=".1f", sep="")


def to_json(data):
    """JSON text for an Inspection or an optimize report (inf errors become null).

    >>> to_json({"error": float("inf"), "n": 1})
    '{\\n  "error": null,\\n  "n": 1\\n}'
    """
    data = data.to_dict() if hasattr(data, "to_dict") else data
    return json.dumps(_finite(data), indent=2)


def _finite(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _console():
    # rich's width: COLUMNS, else the user's terminal even when stdout is piped, else 80.
    # Tables fit it or stack (onebyone._table), so no width is forced on a pipe.
    return Console()


INSPECT_HEADERS = ("module", "Cin -> Cout", "groups", "stride", "output", "params", "MACs",
                   "% MACs", "% params", "role")


def print_inspection(result, console=None):
    """The table of 1x1 convs, the totals line, and the findings grouped by kind."""
    console = console or _console()
    shapes = ", ".join("x".join(map(str, s)) for s in result.input)
    rows = [[r["module"], f"{r['cin']} -> {r['cout']}", str(r["groups"]),
             "x".join(map(str, r["stride"])), "x".join(map(str, r["output"])),
             _n(r["params"]), _n(r["macs"]), f"{100 * r['macs_share']:.1f}",
             f"{100 * r['params_share']:.1f}", r["role"]] for r in result.rows]
    headers = INSPECT_HEADERS
    int8 = any("precision" in r for r in result.rows)  # an int8 (QDQ) ONNX file
    if int8:
        headers += ("precision",)
        rows = [row + [r["precision"]] for row, r in zip(rows, result.rows)]
    title = "pointwise layers" if any(r.get("kind") == "linear" for r in result.rows) else "1x1 convs"
    print_table(console, f"{title} in {result.model}, input {shapes}", headers, rows,
                numbers=INSPECT_HEADERS[1:-1])
    t = result.totals
    linear = sum(r.get("kind") == "linear" for r in result.rows)
    what = (f"{t['conv1x1']} pointwise layers ({t['conv1x1'] - linear} 1x1 convs, {linear} Linear "
            "on spatial or token axes)" if linear else f"{t['conv1x1']} 1x1 convs")
    console.print(f"{what}: {_n(t['conv1x1_macs'])} of {_n(t['model_macs'])} MACs "
                  f"({100 * t['macs_share']:.1f}%), {_n(t['conv1x1_params'])} of "
                  f"{_n(t['model_params'])} params ({100 * t['params_share']:.1f}%)")
    if int8:
        macs = sum(r["macs"] for r in result.rows)
        in_int8 = [r for r in result.rows if r["precision"] == "int8"]
        console.print(f"int8: {len(in_int8)} of {len(result.rows)} pointwise layers, "
                      f"{100 * sum(r['macs'] for r in in_int8) / macs if macs else 0:.1f}% of their MACs "
                      "(read from the QDQ graph; why each stayed float: onebyone optimize's report)")
    kept = getattr(result, "kept_whole", [])
    if kept:  # torch.fx could not trace them; their parts that trace are in the table
        console.print("kept whole: " + ", ".join(f"{k['module']} ({k['reason']})" for k in kept),
                      highlight=False, markup=False)
    kinds = {}
    for f in result.findings:
        kinds.setdefault(f["kind"], []).append(f)
    for kind, found in kinds.items():
        console.print(f"[bold]{kind}[/bold] ({len(found)})")
        for f in found[:5]:
            # markup=False: a detail such as "w[o, c]" is text, not a rich style tag
            console.print(f"  {' + '.join(f['modules'])}: {f['detail']}", highlight=False, markup=False)
        if len(found) > 5:
            console.print(f"  ... and {len(found) - 5} more (all in --json)")


def print_optimization(report, console=None):
    """Per pass: kept or rolled back, what changed, the error; then params, MACs and speed."""
    console = console or _console()
    headers = ("pass", "changed", "error", "tolerance", "result", "for example")
    rows = []
    for p in report["passes"]:
        result = "kept" if p["kept"] else f"rolled back {p.get('failure', '')}"
        example = (p["details"] or p["skipped"] or [""])[0]
        rows.append([p["pass"], str(p["changed"]), f"{p['error']:.1e}", f"{p['tolerance']:.0e}",
                     result, example])
    print_table(console, "optimize: every pass verified against the model before it", headers, rows,
                numbers=("changed", "error", "tolerance"), sentences=("result", "for example"))
    b, a = report["before"], report["after"]
    console.print(f"params {_n(b['params'])} -> {_n(a['params'])}, MACs {_n(b['macs'])} -> "
                  f"{_n(a['macs'])}, final error {report['error']:.1e} (tolerance {report['tolerance']:.0e})")
    if report.get("kept_whole"):  # run as written; the parts inside that trace were rewritten
        console.print("kept whole: " + ", ".join(f"{k['module']} ({k['reason']})"
                                                 for k in report["kept_whole"]), highlight=False, markup=False)
    if report.get("speed"):
        s = report["speed"]
        console.print(f"speed: {s['before_ms']:.2f} ms -> {s['after_ms']:.2f} ms per call "
                      f"({s['speedup']:.2f}x; medians of {s['runs']} interleaved runs)")


def plot_macs(result, path, top=30):
    """Save a horizontal bar chart of the MACs of the `top` costliest 1x1 convs to path (PNG)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    rows = sorted(result.rows, key=lambda r: r["macs"], reverse=True)[:top][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.25 * len(rows) + 1.5))
    ax.barh([r["module"] for r in rows], [r["macs"] / 1e6 for r in rows], color="tab:blue")
    t = result.totals
    ax.set_xlabel("multiply-adds (millions)")
    ax.set_title(f"{result.model}: 1x1 convs hold {100 * t['macs_share']:.0f}% of "
                 f"{t['model_macs'] / 1e6:.0f}M MACs (top {len(rows)} shown)")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=120), mode="wb")
    plt.close(fig)
    return path
