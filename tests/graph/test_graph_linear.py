"""nn.Linear on a tensor with spatial or token axes is a 1x1 conv (issue 10): the census lists
it, costs it, and collapse / merge_parallel rewrite Linear chains and siblings like 1x1 convs."""
import torch
from graph_toys import assert_same_outputs
from torch import nn

from onebyone.graph import inspect, optimize
from onebyone.graph.passes.collapse import collapse
from onebyone.graph.passes.merge_parallel import merge_parallel
from onebyone.graph.roles import ROLES
from onebyone.graph.trace import propagate, trace


class ChannelsLastMlp(nn.Module):
    """ConvNeXt's block with conv_mlp=False: a depthwise conv, then Linear layers on (N, H, W, C)."""

    def __init__(self, c=8):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.fc1, self.fc2 = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
        self.head = nn.Linear(c, 10)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(torch.nn.functional.gelu(self.fc1(y))).permute(0, 3, 1, 2)
        return self.head((x + y).mean((2, 3)))  # the classifier reads a pooled vector: not pointwise


class Attention(nn.Module):
    """Parallel q/k/v projections of one token tensor (N, T, C), then a low-rank output chain."""

    def __init__(self, c=12):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c, bias=False)
        self.down, self.up = nn.Linear(c, 2), nn.Linear(2, c)

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        y = torch.softmax(q @ k.transpose(1, 2), -1) @ v
        return self.up(self.down(y)) + x


def test_linear_on_channels_last_features_is_listed_and_costed():
    result = inspect(ChannelsLastMlp(), (1, 8, 6, 6))
    rows = {r["module"]: r for r in result.rows}
    assert set(rows) == {"fc1", "fc2"}  # the classifier's Linear reads (N, C): not listed
    assert rows["fc1"]["kind"] == rows["fc2"]["kind"] == "linear"
    assert (rows["fc1"]["cin"], rows["fc1"]["cout"], rows["fc1"]["macs"]) == (8, 32, 36 * 8 * 32)
    assert (rows["fc1"]["role"], rows["fc2"]["role"]) == ("expand", "reduce")
    assert rows["fc1"]["role"] in ROLES
    assert result.totals["conv1x1"] == 2 and result.totals["macs_share"] > 0.5


def test_token_linears_near_attention_get_attention_roles():
    rows = inspect(Attention(), (2, 5, 12)).rows
    assert [r["kind"] for r in rows] == ["linear"] * 5
    assert {r["module"]: r["role"] for r in rows}["q"].startswith("attention")


def test_parallel_linears_merge_into_one_wider_linear():
    model, x = Attention().eval(), torch.randn(2, 5, 12)
    gm, rep = merge_parallel(propagate(trace(model), (x,)))
    assert rep["changed"] == 1
    merged = gm.get_submodule(rep["modules"][0])
    assert isinstance(merged, nn.Linear) and merged.out_features == 36
    assert sum(isinstance(m, nn.Linear) for m in gm.modules()) == 3
    assert_same_outputs(model, gm, torch.randn(3, 7, 12))


def test_linear_chain_collapses_into_one_linear_when_cheaper():
    model = nn.Sequential(nn.Linear(6, 32), nn.Linear(32, 5))
    x = torch.randn(2, 4, 4, 6)
    gm, rep = collapse(propagate(trace(model), (x,)))
    assert rep["changed"] == 1 and sum(isinstance(m, nn.Linear) for m in gm.modules()) == 1
    assert gm.get_submodule("1").weight.shape == (5, 6)
    assert_same_outputs(model, gm, torch.randn(3, 2, 3, 6))


def test_optimize_verifies_linear_rewrites():
    model = Attention().eval()
    gm, report = optimize(model, torch.randn(2, 5, 12), speed=False)
    changed = {p["pass"]: p["changed"] for p in report["passes"] if p["kept"]}
    assert changed["merge_parallel"] == 1 and report["error"] <= report["tolerance"]


def test_findings_name_linear_siblings_and_chains():
    found = inspect(Attention(), (2, 5, 12)).findings
    parallel = [f for f in found if f["kind"] == "parallel"]
    assert [sorted(f["modules"]) for f in parallel] == [["k", "q", "v"]]
    assert "3 Linear layers read x; one Linear can do all" == parallel[0]["detail"]
    chain = [f for f in found if f["kind"] == "linear_chain"]
    assert [(f["modules"], f["detail"]) for f in chain] == [
        (["down", "up"], "linear -> linear: one Linear would cost more multiply-adds (a bottleneck)")]
