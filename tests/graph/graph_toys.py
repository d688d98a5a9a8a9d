"""Toy models that isolate one pattern each, and helpers shared by the graph tests."""
import torch
from torch import nn

from onebyone.bench.random_bn import randomized_bn as randomize_bn  # noqa: F401 (the tests' name)
from onebyone.nn import Conv1x1

# Exact rewrites in float32 reorder sums and round folded weights once. Errors are relative to
# the output's scale (as in onebyone/graph/verify.py): measured ~1e-6 of max|output| on the
# torchvision models; e.g. resnet50 logits reach 309 and differ by 3e-4, exactly as far as the
# float32 model itself is from its float64 twin. RTOL 1e-4 and ATOL 1e-5 x max|output| leave
# room for that and still catch any real change.
RTOL, ATOL_SCALE = 1e-4, 1e-5


# The eight torchvision models of issue 5 -> how many convs optimize removes (by collapse or
# merge_parallel), measured and explained:
MODELS = {
    "resnet18": 0,
    "resnet50": 1,            # layer1.0: conv1 and the downsample 1x1 both read the stem's output
    "mobilenet_v2": 0,        # project -> expand chains are bottlenecks: collapsing costs more
    "mobilenet_v3_small": 1,  # features.1 projects 16->16, features.2 expands 16->72: one conv is cheaper
    "googlenet": 18,          # 9 Inception modules: three sibling 1x1 branches become one conv
    "squeezenet1_1": 0,       # Fire: 1x1 and 3x3 expand read the squeeze, but only one is 1x1
    "shufflenet_v2_x0_5": 0,  # depthwise 3x3 -> 1x1 chains: collapsing would densify
    "efficientnet_b0": 0,
}


def count(model, *types):
    """How many submodules of model are instances of types."""
    return sum(isinstance(m, types) for m in model.modules())


def convs(model):
    return count(model, nn.Conv1d, nn.Conv2d, nn.Conv3d, Conv1x1)


def bns(model):
    return count(model, nn.modules.batchnorm._BatchNorm)


def snapshot(model):
    """Everything that must not change: the state_dict values and the module structure."""
    return ({k: v.clone() for k, v in model.state_dict().items()}, repr(model))


def assert_unchanged(model, snap):
    state, structure = snap
    assert repr(model) == structure
    now = model.state_dict()
    assert now.keys() == state.keys()
    for k in state:
        torch.testing.assert_close(now[k], state[k], rtol=0, atol=0)


def assert_same_outputs(a, b, x):
    with torch.no_grad():
        expected = a(x)
        leaves = expected if isinstance(expected, (tuple, list)) else [expected]
        scale = max([float(t.abs().max()) for t in leaves] + [1.0])
        torch.testing.assert_close(b(x), expected, rtol=RTOL, atol=ATOL_SCALE * scale)


class Chain(nn.Module):
    """conv_a, optionally BatchNorm and/or an activation, then conv_b."""

    def __init__(self, a, b, bn=False, act=None):
        super().__init__()
        self.a, self.b = a, b
        self.bn = nn.BatchNorm2d(a.out_channels) if bn else nn.Identity()
        self.act = act or nn.Identity()

    def forward(self, x):
        return self.b(self.act(self.bn(self.a(x))))


class SharedIntermediate(nn.Module):
    """conv -> BatchNorm -> conv, but the first conv's output is also read by an add."""

    def __init__(self):
        super().__init__()
        self.a, self.bn, self.b = nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8), nn.Conv2d(8, 8, 1)

    def forward(self, x):
        y = self.a(x)
        return self.b(self.bn(y)) + y


class Siblings(nn.Module):
    """Three 1x1 convs and a 3x3 read x (Inception-like); one 1x1 has a stride, so it stays."""

    def __init__(self):
        super().__init__()
        self.p, self.q = nn.Conv2d(8, 4, 1), nn.Conv2d(8, 6, 1, bias=False)
        self.r, self.s = nn.Conv2d(8, 5, 1), nn.Conv2d(8, 3, 1, stride=2)
        self.k = nn.Conv2d(8, 2, 3, padding=1)

    def forward(self, x):
        return torch.cat([self.p(x), torch.relu(self.q(x)), self.r(x), self.k(x)], 1), self.s(x)


def run(*args):
    """The onebyone CLI run in-process on args; its output (the command must succeed)."""
    from typer.testing import CliRunner

    from onebyone.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output
