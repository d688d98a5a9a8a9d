"""Turning benchmark rows into a CSV, a PNG and a markdown summary with the targets checked."""
import csv
import math
from collections import defaultdict
from dataclasses import asdict, fields

from .._files import write_atomic


def geomean(values):
    """Geometric mean, skipping NaN (a variant that was not run)."""
    values = [v for v in values if not math.isnan(v)]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def output_dir(out_dir, names, known, files=()):
    """Check the requested model names, make the output directory and check that each of
    ``files`` can be written in it: all before the benchmark starts. Returns the directory."""
    from pathlib import Path

    from .._files import check_writable
    from ..errors import OneByOneError

    unknown = sorted(set(names) - set(known))
    if unknown:
        raise OneByOneError(f"models must be among {', '.join(known)}; got {', '.join(unknown)}")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OneByOneError(f"expected a directory we can write for --out; got {out_dir!r} ({e.strerror})") from e
    for name in files:
        check_writable(out / name, f"--out's {name}")
    return out


def write_csv(rows, path):
    names = [f.name for f in fields(rows[0])]

    def write(f):
        out = csv.DictWriter(f, fieldnames=names)
        out.writeheader()
        for r in rows:
            out.writerow({k: _csv_cell(v) for k, v in asdict(r).items()})
    write_atomic(path, write)


def _csv_cell(v):
    """A float in 4 significant digits; a variant that did not run (NaN) is an empty cell."""
    if not isinstance(v, float):
        return v
    return "" if math.isnan(v) else f"{v:.4g}"


def groups(rows):
    """Rows grouped by (pass, memory format), in a fixed order."""
    grouped = defaultdict(list)
    for r in rows:
        grouped[(r.passes, r.memory_format)].append(r)
    return dict(sorted(grouped.items()))


def summary(rows, command):
    """Markdown: per (pass, memory format) the geometric means, the worst shapes, the targets."""
    lines = [f"Command: `{command}`", "",
             "| pass | memory format | shapes | geomean vs F.conv2d | min vs F.conv2d | "
             "geomean vs oracle | geomean of SGEMM | auto picks gemm |",
             "|---|---|---|---|---|---|---|---|"]
    misses = []
    for (passes, fmt), rs in groups(rows).items():
        vs_conv = [r.vs_conv for r in rs]
        g_conv, g_oracle = geomean(vs_conv), geomean(r.vs_oracle for r in rs)
        lines.append(f"| {passes} | {fmt} | {len(rs)} | {g_conv:.2f}x | {min(vs_conv):.2f}x | "
                     f"{g_oracle:.2f}x | {geomean(r.of_sgemm for r in rs):.2f} | "
                     f"{sum(r.auto_choice == 'gemm' for r in rs)}/{len(rs)} |")
        if g_conv < 1.15:
            misses.append(f"- {passes} {fmt}: geomean {g_conv:.2f}x over F.conv2d, target 1.15x")
        if g_oracle < 0.9:
            misses.append(f"- {passes} {fmt}: geomean {g_oracle:.2f}x of the oracle, target 0.9x")
        for r in sorted(rs, key=lambda r: r.vs_conv):
            if r.vs_conv >= 0.95:
                break
            misses.append(f"- {passes} {fmt} {r.shape} N={r.batch}: {r.vs_conv:.2f}x of F.conv2d "
                          f"({r.auto_ms:.3f} vs {r.conv_ms:.3f} ms; auto ran {r.auto_choice}, "
                          f"oracle {r.oracle})")
    lines += ["", "Targets: never below 0.95x of F.conv2d, geomean >= 1.15x over F.conv2d, "
              ">= 0.9x of the per-shape oracle on geomean.", ""]
    lines += (["Misses:"] + misses) if misses else ["All targets met."]
    return "\n".join(lines) + "\n"


def figure(rows):
    """One panel per (pass, memory format): speed-up over F.conv2d per shape, sorted, each bar
    labelled with its shape and batch on the x axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grouped = groups(rows)
    fig, axes = plt.subplots(len(grouped), 1, figsize=(12, 2.8 * len(grouped)), squeeze=False)
    for ax, ((passes, fmt), rs) in zip(axes[:, 0], grouped.items()):
        rs = sorted(rs, key=lambda r: r.vs_conv)
        colors = ["tab:red" if r.vs_conv < 0.95 else "tab:green" for r in rs]
        ax.bar(range(len(rs)), [r.vs_conv for r in rs], color=colors)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_ylabel("x F.conv2d")
        ax.set_title(f"{passes}, {fmt}: onebyone auto vs F.conv2d per shape "
                     f"(geomean {geomean(r.vs_conv for r in rs):.2f}x)")
        ax.set_xticks(range(len(rs)), [f"{r.shape} N={r.batch}" for r in rs], rotation=90,
                      fontsize=max(4, min(8, 600 // max(len(rs), 1))))  # many shapes: smaller labels
        ax.set_xlabel("1x1 conv shape and batch, slowest to fastest")
    fig.tight_layout()
    return fig


def plot(rows, path):
    """figure(rows) saved to path (PNG), whole or not at all."""
    save_figure(figure(rows), path)


def save_figure(fig, path):
    """A matplotlib figure written to path as PNG, whole or not at all, then closed."""
    import matplotlib.pyplot as plt

    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=90), mode="wb")
    plt.close(fig)
