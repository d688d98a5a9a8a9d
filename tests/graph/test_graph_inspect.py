"""inspect: rows, roles, totals and findings on toy models that isolate each pattern."""
import json

import torch
from graph_toys import Chain, SharedIntermediate, Siblings, assert_unchanged, randomize_bn, snapshot
from torch import nn

import onebyone
from onebyone.graph import render


def kinds(result):
    return sorted(f["kind"] for f in result.findings)


def test_rows_costs_and_shares():
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 4, 1, stride=2))
    result = onebyone.inspect(model, (2, 3, 8, 8))
    (row,) = result.rows
    assert (row["module"], row["cin"], row["cout"], row["stride"], row["output"]) == ("2", 16, 4, [2, 2], [4, 4, 4])
    assert row["params"] == 16 * 4 + 4 and row["macs"] == 2 * 4 * 4 * 4 * 16
    conv3x3 = 2 * 16 * 8 * 8 * 3 * 9
    assert result.totals["model_macs"] == conv3x3 + row["macs"]
    assert abs(row["macs_share"] - row["macs"] / (conv3x3 + row["macs"])) < 1e-12
    assert result.totals["model_params"] == sum(p.numel() for p in model.parameters())


class Roles(nn.Module):
    """A reduce, an expand, a mix, a strided projection, an SE gate, attention and a head."""

    def __init__(self):
        super().__init__()
        self.reduce, self.expand, self.mix = nn.Conv2d(16, 4, 1), nn.Conv2d(4, 16, 1), nn.Conv2d(16, 16, 1)
        self.proj, self.se = nn.Conv2d(16, 32, 1, stride=2), nn.Conv2d(16, 16, 1)
        self.q, self.k = nn.Conv2d(16, 8, 1), nn.Conv2d(16, 8, 1)
        self.body, self.head = nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.Conv2d(32, 10, 1)

    def forward(self, x):
        x = torch.relu(self.mix(torch.relu(self.expand(torch.relu(self.reduce(x))))))
        x = x * torch.sigmoid(self.se(x.mean((2, 3), keepdim=True)))
        q, k = self.q(x).flatten(2), self.k(x).flatten(2)
        x = x + torch.bmm(q.transpose(1, 2), k).softmax(-1).mean() * x
        return self.head(torch.relu(self.body(x) + self.proj(x)))


def test_roles():
    result = onebyone.inspect(Roles(), (1, 16, 8, 8))
    assert {r["module"]: r["role"] for r in result.rows} == {
        "reduce": "reduce", "expand": "expand", "mix": "mix", "se": "attention", "q": "attention",
        "k": "attention", "proj": "projection", "head": "head"}


def test_findings_chain_parallel_rank():
    chain = randomize_bn(Chain(nn.Conv2d(6, 32, 1), nn.Conv2d(32, 5, 1), bn=True))
    result = onebyone.inspect(chain, (1, 6, 4, 4))
    assert kinds(result) == ["foldable_bn", "linear_chain"]
    assert "one conv is cheaper" in result.findings[1]["detail"]
    assert kinds(onebyone.inspect(Siblings(), (1, 8, 4, 4))) == ["parallel"]
    conv = nn.Conv2d(8, 8, 1)
    with torch.no_grad():
        conv.weight[4:] = conv.weight[:4] * 2  # rank 4 of 8
    result = onebyone.inspect(nn.Sequential(nn.Conv2d(1, 8, 1), nn.ReLU(), conv), (1, 1, 4, 4))
    assert kinds(result) == ["rank_1", "rank_deficient"]
    assert "rank 4 of 8" in result.findings[1]["detail"]


def test_nonlinearity_or_second_user_means_no_chain():
    relu = Chain(nn.Conv2d(6, 32, 1), nn.Conv2d(32, 5, 1), act=nn.ReLU())
    assert kinds(onebyone.inspect(relu, (1, 6, 4, 4))) == []
    assert kinds(onebyone.inspect(randomize_bn(SharedIntermediate()), (1, 8, 4, 4))) == []


def test_inspect_leaves_model_alone_and_renders(tmp_path, capsys):
    model = randomize_bn(Chain(nn.Conv2d(6, 32, 1), nn.Conv2d(32, 5, 1), bn=True))
    snap = snapshot(model)
    result = onebyone.inspect(model, (1, 6, 4, 4))
    assert_unchanged(model, snap)
    assert json.loads(render.to_json(result))["totals"]["conv1x1"] == 2
    render.print_inspection(result)
    assert "linear_chain" in capsys.readouterr().out
    png = render.plot_macs(result, tmp_path / "macs.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_chain_through_batchnorm_is_judged_with_its_shift():
    # findings no longer folds BatchNorm to see chains: the shift it would fold into the 1x1's
    # bias must still block 1x1 -> padded 3x3 (lost at the borders), and only that case.
    padded = randomize_bn(Chain(nn.Conv2d(6, 8, 1, bias=False), nn.Conv2d(8, 4, 3, padding=1), bn=True))
    (chain,) = [f for f in onebyone.inspect(padded, (1, 6, 5, 5)).findings if f["kind"] == "linear_chain"]
    assert chain["modules"] == ["a", "b"] and "lost at the k x k conv's zero-padded borders" in chain["detail"]
    unpadded = randomize_bn(Chain(nn.Conv2d(6, 8, 1, bias=False), nn.Conv2d(8, 4, 3), bn=True))
    (chain,) = [f for f in onebyone.inspect(unpadded, (1, 6, 5, 5)).findings if f["kind"] == "linear_chain"]
    assert chain["detail"].startswith("1x1 -> kxk: one conv")
