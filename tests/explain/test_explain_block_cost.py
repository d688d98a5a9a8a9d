"""`explain --block`: the whole block's cost by kind, checked against torch's FLOP counter."""
import json
from math import prod

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from onebyone.blocks import BLOCKS, build
from onebyone.cli import main
from onebyone.explanation.block import count, summary

SHAPE = (1, 16, 8, 6)  # small and not square


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
