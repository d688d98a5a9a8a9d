"""`onebyone optimize MODEL -o OUT`: rewrite a model's 1x1 convs, verified, hand it to the fastest
engine (or the one asked for), verify it there, and write that engine's artifact."""
import os
import time
import warnings

import typer
from rich.console import Console

from .._files import check_writable
from ..errors import OneByOneError
from . import app


@app.command()
def optimize(
    model: str = typer.Argument(..., help="torchvision model name (resnet18), timm:NAME "
                                "(timm:efficientnet_b0; random weights), or a .pt/.pth (pickled "
                                "module), .pt2 (torch.export) or .onnx file (converted by "
                                "onnx2torch, proven against onnxruntime running the file)."),
    out: str = typer.Option(..., "-o", "--out", help="Where to write the artifact: .pt (torch: a "
                            "pickled GraphModule), .pt2 (compile: an AOTInductor package), .onnx "
                            "(onnxruntime) or .xml (openvino: .xml + .bin); no suffix with auto."),
    target: str = typer.Option(None, "--target", show_default=False,
                               help="torch, compile, onnxruntime, openvino or auto (every installed "
                               "engine timed, the fastest kept; its suffix is added to -o). "
                               "Default: the target -o's suffix names, auto without a suffix."),
    passes: str = typer.Option(None, "--passes", show_default=False,
                               help="Comma-separated passes (default: every lossless one, i.e. "
                               "onebyone.graph.passes.DEFAULT); add low_rank to opt in."),
    input: str = typer.Option(None, "--input", show_default=False,
                              help="Input shape, comma separated (default: an ONNX file's own "
                              "fixed shape, else 1,3,224,224); fills an ONNX file's symbolic dims."),
    rank: int = typer.Option(None, "--rank", help="low_rank: keep this many singular values."),
    energy: float = typer.Option(0.999, "--energy", help="low_rank: keep this share of sum(s^2)."),
    lossy_tolerance: float = typer.Option(0.05, "--lossy-tolerance",
                                          help="low_rank: largest output error kept (relative)."),
    speed: bool = typer.Option(True, "--speed/--no-speed", help="Time the model and the result "
                               "(interleaved); without it, torch keeps every verified pass untimed."),
    runs: int = typer.Option(7, "--runs", min=1, help="Timed rounds; the report gives medians."),
    json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    int8: bool = typer.Option(False, "--int8", help="Also try int8 (onnxruntime, openvino) within "
                              "the error budget; the faster of fp32 and int8 is written."),
    calibration: str = typer.Option(None, "--calibration", help="--int8: calibration inputs, a "
                                    "directory of images or a .npy/.pt tensor file (default: "
                                    "random inputs, and the report says so)."),
    budget: str = typer.Option(None, "--budget", help="--int8: the relative error bound per "
                               "output (default 0.05, with top-1 agreement >= 99%)."),
    mean: str = typer.Option(None, "--mean", help="--int8 images: per-channel mean, e.g. "
                             "0.485,0.456,0.406."),
    std: str = typer.Option(None, "--std", help="--int8 images: per-channel std."),
    size: int = typer.Option(None, "--size", min=1, help="--int8 images: resized to this size."),
):
    """Fold BatchNorm, collapse linear chains, merge parallel 1x1 convs, use the fast op; verify
    each; then run it in an engine, verified there, and save what that engine runs."""
    from ..graph import engines, render
    from ..graph import optimize as run
    from ..graph.load import load
    from ..graph.passes import DEFAULT
    from ..graph.trace import make_inputs

    target, out = _target_and_path(target, out)
    int8_options = _int8_options(int8, calibration, budget, mean, std, size, target)
    check_writable(out, "-o")  # before minutes of tracing, compiling and verifying, not after
    start = time.perf_counter()
    # A status line on stderr, updated per step (compile's warm-up alone takes 10-45 s here);
    # rich shows nothing when stderr is not a terminal, so pipes and --json stay clean.
    with Console(stderr=True).status("load") as status, warnings.catch_warnings():

        def say(step):
            status.update(f"[{time.perf_counter() - start:.0f} s] {step}")

        module = load(model)
        inputs = make_inputs(input or _fixed_shape(module) or "1,3,224,224")
        warnings.simplefilter("ignore", UserWarning)  # roll-backs are shown in the table below
        engine, report = run(module, inputs, DEFAULT if passes is None else passes, target=target,
                             rank=rank, energy=energy, lossy_tolerance=lossy_tolerance, speed=speed,
                             runs=runs, progress=say, as_engine=True, **int8_options)
        if target == "auto":
            out += engines.TARGETS[report["target"]].suffixes[0]
        say(f"save {out}, re-load, re-verify")
        engine.save(out)
    report.saved = out  # re-loaded and re-verified by engine.save
    if json:
        print(render.to_json(report))
        return
    console = Console()  # the terminal's width (COLUMNS when piped): long lines wrap, not spill
    render.print_optimization(report, console)
    _print_targets(report, lambda line: console.print(line, markup=False, highlight=False))
    if "int8" in report:
        from ..graph.int8.render import print_int8

        print_int8(report["int8"], console)
    extra = " and its .bin" if report["target"] == "openvino" else ""
    within = (f"within the int8 budget (error {report['error']:.1e}, bound {report['tolerance']:.0e}, "
              f"on {report['int8']['held_out']})" if report["precision"] == "int8"
              else f"within {report['tolerance']:.0e}")
    what = " on the original model" if report.get("plain_chosen") else ""
    console.print(f"saved {out}{extra} for {report['target']}{what} ({report['precision']}): re-loaded and "
                  f"reproduces the model {within} (onebyone.graph.engines.load reads it back)",
                  markup=False, highlight=False)


def _fixed_shape(module):
    from ..graph import onnx_convert

    return onnx_convert.fixed_shape(module) if onnx_convert.is_onnx(module) else None


def _int8_options(int8, calibration, budget, mean, std, size, target):
    """optimize's int8 keywords from the flags, or one OneByOneError before any work."""
    given = [f for f, v in (("--calibration", calibration), ("--budget", budget), ("--mean", mean),
                            ("--std", std), ("--size", size)) if v is not None]
    if not int8:
        if given:
            raise OneByOneError(f"expected --int8 with {', '.join(given)}; got {given[0]} without it")
        return {}
    from ..graph.int8 import check_targets

    check_targets(["onnxruntime", "openvino"] if target == "auto" else [target])
    if budget is not None:
        try:
            budget = float(budget)
        except ValueError:
            raise OneByOneError(f"expected --budget a number (the relative error bound); got {budget!r}") from None
    preprocess = {k: v for k, v in (("mean", _floats(mean, "--mean")), ("std", _floats(std, "--std")),
                                    ("size", size)) if v is not None}
    return {"precision": "int8", "calibration": calibration, "budget": budget,
            "preprocess": preprocess or None}


def _floats(text, flag):
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise OneByOneError(f"expected {flag} comma-separated numbers such as 0.485,0.456,0.406; "
                            f"got {text!r}") from None


def _target_and_path(target, out):
    """(target, path) from --target and -o, or one OneByOneError, before any work."""
    from ..graph.engines import SUFFIXES, TARGETS, named

    suffix = os.path.splitext(out)[1]
    by_suffix = SUFFIXES.get(suffix)
    if target is None:
        if suffix and by_suffix is None:
            raise OneByOneError(f"expected -o ending in {', '.join(SUFFIXES)} (or no "
                                f"suffix, for auto); got {out!r}")
        target = by_suffix or "auto"
    if target == "auto":
        if by_suffix:
            raise OneByOneError(f"expected -o without a suffix for --target auto (the chosen "
                                f"engine's is added); got {out!r}")
        return target, out
    named(target, "--target")
    if by_suffix != target:
        raise OneByOneError(f"expected -o ending in {TARGETS[target].suffixes[0]} for --target "
                            f"{target}; got {out!r}")
    return target, out


def _print_targets(report, say):
    plain = report.get("plain_chosen", False)
    for name, r in report["targets"].items():
        chosen = " <- chosen" if name == report["target"] and not plain else ""
        if "dropped" in r:
            say(f"{name}: dropped: {r['dropped']}")
        elif "ms" in r:
            kept = ", ".join(r.get("passes", [])) or "none"
            say(f"{name}: {_ms(r)}, warm-up {r['warmup_s']:.1f} s, error {r['error']:.1e}, "
                f"layout passes kept: {kept}{chosen}")
    for name, r in report.get("plain", {}).items():  # each engine on the model as it is
        chosen = " <- chosen: no rewrite was faster there" if name == report["target"] and plain else ""
        if "dropped" in r:
            say(f"{name} on the original model: dropped: {r['dropped']}")
        elif "ms" in r:
            say(f"{name} on the original model: {_ms(r)}, warm-up {r['warmup_s']:.1f} s, "
                f"error {r['error']:.1e}{chosen}")
    for name, why in report.get("skipped", {}).items():
        say(f"{name}: skipped: {why}")


def _ms(entry):
    """'12.30 ms', and the head-to-head time of the finalists: '12.30 ms (head to head 11.90 ms)'."""
    again = f" (head to head {entry['final_ms']:.2f} ms)" if "final_ms" in entry else ""
    return f"{entry['ms']:.2f} ms{again}"
