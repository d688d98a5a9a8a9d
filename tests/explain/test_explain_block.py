"""`onebyone explain --block NAME`: a block's 1x1 convs and their costs, from running the block."""
import json

import pytest
import torch

from onebyone import Conv1x1
from onebyone.blocks import BLOCKS, describe
from onebyone.cli import main
from onebyone.explanation.block import totals as block_totals


def block_rows(name, shape):
    """What `explain --block NAME H x W x C` shows: the block's rows, then their totals."""
    height, width, channels = map(int, shape.split("x"))
    rows = describe(name, height, width, channels)
    return rows, block_totals(rows)


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_totals_match_the_blocks_own_1x1_convs(name):
    rows, totals = block_rows(name, "14x12x64")
    block = BLOCKS[name](64)
    convs = [m for m in block.modules()
             if isinstance(m, (Conv1x1, torch.nn.Conv2d)) and all(k == 1 for k in m.kernel_size)]
    assert totals["convs_1x1"] == len(rows) >= 1
    assert totals["params"] == sum(p.numel() for c in convs for p in c.parameters(recurse=False))


def test_cli_prints_the_table_and_totals(capsys):
    with pytest.raises(SystemExit) as info:
        main(["explain", "--block", "inception", "--input", "28x28x192"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    # GoogLeNet's inception (3a): 64 + 96 + 16 + 32 = 208 filters of 192 weights plus biases.
    assert "4 1x1 convs: 39,936 parameters" in out


def test_cli_json(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--block", "self_attention", "32x32x64", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in data["rows"]] == ["f", "g", "h"]
    assert data["totals_1x1"]["convs_1x1"] == 3


@pytest.mark.parametrize("argv, message", [
    (["--block", "attention", "8x8x16"], "unknown block 'attention'; expected one of"),
    (["--block", "fire", "--input", "1,16,8,8"], "--block takes the input as H x W x C"),
])
def test_bad_block_input_is_one_line_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["explain", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_cli_builds_the_block_once(monkeypatch, capsys):
    """--block used to build the block twice: once for its rows, once for its cost."""
    built = []
    make = BLOCKS["fire"]
    monkeypatch.setitem(BLOCKS, "fire", lambda c: built.append(c) or make(c))
    with pytest.raises(SystemExit) as info:
        main(["explain", "--block", "fire", "16x16x32", "--json"])
    assert info.value.code == 0 and built == [32]
    assert json.loads(capsys.readouterr().out)["totals_1x1"]["convs_1x1"] == 2


def test_explain_block_is_what_the_cli_prints(capsys):
    from onebyone.blocks import build
    from onebyone.explanation import explain_block

    e = explain_block(build("inception", 32), "12x10x32", name="inception")
    with pytest.raises(SystemExit):
        main(["explain", "--block", "inception", "12x10x32", "--json"])
    assert json.loads(json.dumps(e.as_dict())) == json.loads(capsys.readouterr().out)
    assert e.totals_1x1 == block_totals(describe("inception", 12, 10, 32))


def test_explain_block_takes_any_module_and_one_image():
    from onebyone import OneByOneError
    from onebyone.explanation import explain_block

    net = torch.nn.Sequential(torch.nn.Conv2d(8, 4, 1), torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 3))
    e = explain_block(net, (1, 8, 6, 5))
    assert (e.name, e.input_hwc, [r.path for r in e.rows]) == ("Sequential", "6x5x8", ["0"])
    ops = {r["kind"]: r["ops"] for r in e.whole_block["rows"]}
    assert ops["1x1 convs"] == e.rows[0].macs == 6 * 5 * 8 * 4
    assert ops["k x k convs"] == 4 * 3 * 4 * 4 * 9  # output 4x3, 4 -> 4, 3x3
    with pytest.raises(OneByOneError, match="one image; expected a batch of 1; got 2"):
        explain_block(net, (2, 8, 6, 5))
