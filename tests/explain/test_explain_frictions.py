"""The explain command's rough edges: --version, 80 columns, absurd sizes, bad paths, no nan."""
import re
import subprocess
import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onebyone
from onebyone.cli import main
from onebyone.explanation.text import to_text


def _cli(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_version(capsys):
    code, out, err = _cli(["--version"], capsys)
    assert code == 0 and out == f"onebyone {onebyone.__version__}\n" and err == ""


@pytest.mark.parametrize("argv, words", [
    (["99999999999999999999x2x3", "--filters", "2"], ["would have 6e+20 elements", "2**63 - 1"]),
    (["2x2x3", "--filters", "99999999999999999999"], ["output", "elements"]),
    (["--input", "1,2,100000", "--dims", "1", "--filters", "2", "--kernel", "70000"],
     ["kernel of at most 65,536"]),
    (["4x4x3", "--filters", "2", "--html", "/nonexistent/x.html"],
     ["--html", "existing, writable directory", "'/nonexistent/x.html'"]),
    (["4x4x3", "--filters", "2", "--html", "."], ["--html", "a file, not a directory", "'.'"]),
])
def test_absurd_sizes_and_bad_paths_are_one_line(argv, words, capsys):
    code, out, err = _cli(["explain", *argv], capsys)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("onebyone: error: "), err
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("shape", ["1099511627776x2x3", "3x1099511627776x5", "4096x4096x4096"])
def test_huge_but_possible_layers_are_computed_without_big_lists(shape):
    """Facts by formula: explaining 2**40 rows allocates no more than a small layer does."""
    to_text(onebyone.explain("5x5x2", filters=2, example=True))  # imports are not the layer
    tracemalloc.start()
    try:
        e = onebyone.explain(shape, filters=2, stride=3, padding=2, example=True)
        to_text(e)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak  # an O(H) Python list of 2**40 ints would be terabytes
    assert e.cost.macs == e.cost.output_elements * e.layer.in_channels


def _lines_of(argv, columns, **kwargs):
    env = {k: v for k, v in __import__("os").environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = str(columns)
    done = subprocess.run([sys.executable, "-c", "from onebyone.cli import main; main()",
                           *argv], capture_output=True, text=True, timeout=300, env=env, **kwargs)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("argv", [
    ["explain", "28x28x192", "--filters", "32", "--example"],
    ["explain", "28x28x64", "--filters", "64", "--groups", "4", "--stride", "2", "--padding",
     "1", "--example"],
    ["explain", "64x64x3", "--filters", "32", "--kernel", "3", "--example"],
])
def test_80_columns_piped_wraps_and_never_cuts_a_number(argv):
    lines = _lines_of(argv, 80)
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "…" not in text  # rich's mark for a cut cell
    shape, filters = argv[1], int(argv[3])
    options = dict(zip([a.lstrip("-") for a in argv[4::2]], argv[5::2]))
    e = onebyone.explain(shape, filters=filters, example=True,
                         **{k: int(v) for k, v in options.items() if v.isdigit()})
    for number in (e.cost.macs, e.cost.flops, e.weights.params_with_bias, e.whole_image.entries):
        assert f"{number:,}" in text, number  # whole, never split across lines
    grid = " ".join(f"{v:3d}" for v in e.example.gemm_y[0])
    assert grid in text  # the worked example's rows stay whole


def test_piped_output_takes_the_terminals_real_width():
    """stdout piped, stdin a 120-column terminal, no COLUMNS: lines use the 120 columns."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    try:
        lines = _lines_of(["explain", "28x28x192", "--filters", "32"], None, stdin=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert 80 < max(len(line) for line in lines) <= 120


layers = st.fixed_dictionaries({
    "size": st.integers(1, 6), "cin": st.integers(1, 4), "cout": st.integers(1, 4),
    "kernel": st.integers(1, 3), "stride": st.integers(1, 9), "padding": st.integers(0, 6),
})


@settings(max_examples=40, derandomize=True, deadline=None)
@given(spec=layers)
def test_no_raw_nan_or_inf_in_text(spec):
    kernel = min(spec["kernel"], spec["size"] + 2 * spec["padding"])
    e = onebyone.explain(f"{spec['size']}x{spec['size']}x{spec['cin']}", filters=spec["cout"],
                         kernel=kernel, stride=spec["stride"], padding=spec["padding"],
                         example=True)
    text = to_text(e)
    assert not re.search(r"\b(nan|inf|NaN|Infinity)\b", text)


@pytest.mark.parametrize("shape, options", [
    ("6x7x8x4", dict(filters=4, dims=3, kernel=3, stride=2, padding=1)),  # 1,032,192 bytes
    ("1x1x9996", dict(filters=100_000)),  # 999,600,000 MACs
])
def test_sizes_near_a_prefix_read_as_numbers_not_exponents(shape, options):
    """'.3g' writes 1008 KiB as '1.01e+03 KiB': such a size goes up one prefix instead."""
    import re

    from onebyone.explanation.text import to_text

    e = onebyone.explain(shape, **options)
    text = to_text(e, width=200)
    assert not re.search(r"\d[eE][+-]?\d", text.split("\nPyTorch code (")[0]), text
