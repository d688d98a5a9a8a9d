"""`explain_block` and `onebyone explain --block NAME`: a block's 1x1 convs and their costs, from
running the block, and the whole block's cost by kind, checked against torch's FLOP counter."""
import json
from math import prod

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from onebyone import Conv1x1
from onebyone.blocks import BLOCKS, build, describe
from onebyone.cli import main
from onebyone.explanation.block import count, summary
from onebyone.explanation.block import totals as block_totals

SHAPE = (1, 16, 8, 6)  # small and not square


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



@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_multiply_adds_are_torchs_flop_count(name):
    """Convs and matrix products together are what FlopCounterMode counts, halved."""
    torch.manual_seed(0)
    block = build(name, SHAPE[1]).eval()
    totals = count(block, SHAPE)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        block(torch.randn(SHAPE))
    macs = sum(totals[k]["ops"] for k in ("1x1 convs", "k x k convs", "matrix products"))
    assert 2 * macs == counter.get_total_flops()
    with torch.device("meta"):  # what the CLI runs: shapes only, the same counts
        assert count(build(name, SHAPE[1]), SHAPE) == totals


def test_attention_matmuls_are_counted():
    """SAGAN on 32x32x256: 84M in its 1x1 convs, 302M in q @ k^T and the weighted sum."""
    with torch.device("meta"):
        totals = count(build("self_attention", 256), (1, 256, 32, 32))
    pixels = 32 * 32
    assert totals["1x1 convs"]["ops"] == pixels * 256 * (32 + 32 + 256)
    assert totals["matrix products"]["ops"] == pixels * pixels * 32 + pixels * pixels * 256
    share = summary(totals)["share_1x1"]
    assert share == pytest.approx(totals["1x1 convs"]["ops"] / (
        totals["1x1 convs"]["ops"] + totals["matrix products"]["ops"]))


def test_pooling_counts_every_value_each_window_reads():
    block = build("inception", SHAPE[1]).eval()
    pools = [m for m in block.modules() if isinstance(m, torch.nn.MaxPool2d)]
    reads = []
    hooks = [p.register_forward_hook(
        lambda m, i, o: reads.append(o.numel() * prod((m.kernel_size,) * 2
                                                      if isinstance(m.kernel_size, int)
                                                      else m.kernel_size)))
             for p in pools]
    totals = count(block, SHAPE)
    for h in hooks:
        h.remove()
    assert pools and totals["pooling"] == {"calls": len(pools), "ops": sum(reads)}


def test_user_model_is_left_as_it_was():
    block = build("squeeze_excitation", SHAPE[1]).train()
    before = {k: v.clone() for k, v in block.state_dict().items()}
    count(block, SHAPE)
    assert block.training and all(m.training for m in block.modules())
    assert all(torch.equal(before[k], v) for k, v in block.state_dict().items())
    assert not block._forward_hooks and not block._forward_pre_hooks


def _cli(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    assert info.value.code == 0, out.err
    return out.out


def test_cli_text_and_json_carry_the_whole_block(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = _cli(["explain", "--block", "self_attention", "32x32x256"], capsys)
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    # SAGAN's two products on P = 32*32 pixels: q^T k is P x P over C/8, attention @ v is
    # C x P over P; the 1x1 convs are q, k (C -> C/8) and v (C -> C).
    p, c = 32 * 32, 256
    matmuls = p * p * c // 8 + c * p * p
    convs = p * c * (c // 8 + c // 8 + c)
    assert f"{matmuls:,}" in text
    assert f"1x1 convs: {100 * convs / (matmuls + convs):.1f}% of the block's {matmuls + convs:,}" in text
    doc = json.loads(_cli(["explain", "--block", "self_attention", "32x32x256", "--json"],
                          capsys))
    kinds = {r["kind"]: r["ops"] for r in doc["whole_block"]["rows"]}
    assert kinds["matrix products"] == matmuls
    assert doc["whole_block"]["total_ops"] == sum(kinds.values())


def test_list_blocks(capsys):
    out = _cli(["explain", "--list-blocks"], capsys)
    names = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()]
    assert names[:-1] == list(BLOCKS) and names[-1] == "usage:"
