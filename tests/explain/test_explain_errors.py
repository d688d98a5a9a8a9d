"""Bad input: one OneByOneError saying what was expected and what was given; the CLI exits 2."""
import pytest

import onebyone
from onebyone.cli import main

BAD = [  # (CLI arguments, words the one-line message must contain)
    (["28x28", "--filters", "32"], ["'28x28' gives 2 size(s)", "needs 3", "28x28x192"]),
    (["0x5x3", "--filters", "32"], ["integer >= 1", "'0'", "'0x5x3'"]),
    (["-1x2x3", "--filters", "32"], ["integer >= 1", "'-1'", "'-1x2x3'"]),
    (["abc", "--filters", "32"], ["'abc' gives 1 size(s)", "expected e.g. 28x28x192"]),
    (["", "--filters", "32"], ["shape ''", "expected e.g. 28x28x192"]),
    (["28x28x192", "--filters", "32", "--groups", "5"],
     ["groups=5 must divide", "192", "32", "remainders 2 and 2"]),
    (["4x4x3", "--filters", "8", "--kernel", "5"],
     ["kernel 5x5 is larger than the input 4x4", "padded by 0x0", "--padding"]),
    (["28x28x192", "--filters", "abc"], ["filters must be a positive integer", "'abc'"]),
    (["28x28x192", "--filters", "0"], ["filters must be a positive integer", "0"]),
    (["28x28x192", "--filters", "32", "--stride", "2,2,2"], ["stride", "2 of them", "'2,2,2'"]),
    (["28x28x192", "--filters", "32", "--dims", "4"], ["dims must be 1, 2 or 3", "4"]),
    (["28x28x192", "--filters", "32", "--dims", "x"], ["dims must be a positive integer", "'x'"]),
    (["28x28x192", "--filters", "32", "--padding", "-1"],
     ["padding must be one integer >= 0", "'-1'"]),
    (["28x28x192", "--filters", "32", "--stride", "2x"],
     ["stride must be one integer >= 1 or 2", "'2x'"]),
    (["--input", "1,192,28,28", "--layout", "nchx", "--filters", "32"],
     ["layout must name", "'nchx'"]),
    (["--input", "1,2,5,3", "--layout", "nhwc", "--filters", "4", "--kernel", "3"],
     ["kernel 3x3 is larger than the input 2x5"]),
    (["28x28x192"], ["--filters is required"]),
    ([ "--filters", "3"], ["give the input once", "neither"]),
    (["4x4x3", "--input", "1,3,4,4", "--filters", "3"], ["give the input once", "both"]),
    (["4x4x3", "--filters", "3", "--seed", "-4"], ["--seed must be an integer >= 0", "-4"]),
    # --block builds its own layers: a layer option would be ignored without a word
    (["--block", "fire", "28x28x192", "--filters", "32"],
     ["--block fire takes only the input H x W x C", "got --filters"]),
    (["--block", "fire", "28x28x192", "--kernel", "3", "--example", "--html", "p.html"],
     ["got --kernel, --example, --html"]),
    (["--block", "fire", "28x28x192", "--stride", "2", "--groups", "2", "--no-bias"],
     ["got --stride, --groups, --no-bias"]),
]


def _id(value):
    return " ".join(value) if value and isinstance(value[0], str) and value[0] != "" else ""


@pytest.mark.parametrize("argv, words", BAD, ids=_id)
def test_cli_bad_input_one_line_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", *argv])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("onebyone: error: ")
    for word in words:
        assert word in lines[0]


def test_api_raises_the_one_error_type():
    with pytest.raises(onebyone.OneByOneError, match="expected e.g. 28x28x192"):
        onebyone.explain("28x28", filters=32)
    with pytest.raises(ValueError, match="groups=3 must divide"):  # OneByOneError is a ValueError
        onebyone.explain((1, 4, 5, 5), filters=6, groups=3)
    with pytest.raises(onebyone.OneByOneError, match=r"kernel 1x9 is larger than the input 5x5"):
        onebyone.explain("5x5x2", filters=2, kernel=(1, 9))
    with pytest.raises(onebyone.OneByOneError, match=r"bias must be True or False; got 'no'"):
        onebyone.explain("5x5x2", filters=2, bias="no")


@pytest.mark.parametrize("argv, words", [
    (["4x4x3", "--filters", "3", "--filtrs", "3"], ["unexpected extra argument"]),
    (["--filtrs", "3", "--filters", "3"], ["unexpected extra argument"]),
    (["--frobnicate", "--filters", "3"], ["no such option: --frobnicate"]),
    (["--input", "1,3,4,4", "--frobnicate", "--filters", "3"], ["no such option: --frobnicate"]),
    (["4x4x3", "--filters"], ["--filters", "requires an argument"]),
])
def test_cli_usage_errors_are_one_line_too(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", *argv])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("onebyone: error: ")
    for word in words:
        assert word in lines[0]


def test_error_examples_follow_the_layout():
    with pytest.raises(onebyone.OneByOneError, match=r"expected e.g. 1,192,28,28 \(N, C, H, W\)"):
        onebyone.explain((28, 28, 192), filters=3)
    with pytest.raises(onebyone.OneByOneError,
                       match=r"expected e.g. 8x28x28x192 \(D x H x W x C\)"):
        onebyone.explain("28x28x192", filters=3, dims=3)
    with pytest.raises(onebyone.OneByOneError, match=r"expected e.g. 1,28,28,192 \(N, H, W, C\)"):
        onebyone.explain("1,28,28", filters=3, layout="nhwc")


def test_installed_command_prints_one_line_in_a_real_process():
    """The console entry point, in its own process: no traceback reaches the terminal."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "from onebyone.cli import main; main()", "explain", "-1x2x3",
         "--filters", "3"], capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "onebyone: error: every size in a shape must be an integer >= 1; got '-1' in '-1x2x3'"]


def test_numpy_integers_are_integers():
    """Sizes that come out of NumPy (np.int64) read like ints, with the same facts."""
    import numpy as np

    with_ints = onebyone.explain((1, 6, 9, 7), filters=4, kernel=3, stride=2, groups=2)
    with_numpy = onebyone.explain(tuple(np.array([1, 6, 9, 7])), filters=np.int64(4),
                                  kernel=np.int64(3), stride=(np.int32(2), np.int64(2)),
                                  groups=np.int64(2))
    assert with_numpy.as_dict() == with_ints.as_dict()


@pytest.mark.parametrize("call", [
    lambda: onebyone.explain(28, filters=3),
    lambda: onebyone.explain(None, filters=3),
    lambda: onebyone.explain("8x8x3", filters=3, kernel=3.5),
    lambda: onebyone.explain("8x8x3", filters=3, stride=None),
])
def test_api_values_of_the_wrong_type_are_the_one_error(call):
    with pytest.raises(onebyone.OneByOneError, match="got"):
        call()
