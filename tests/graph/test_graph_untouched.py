"""The user's model and process are exactly as before any call of optimize or inspect:
parameters, buffers, lazy modules, requires_grad and training flags, torch's global settings."""
import pytest
import torch
from graph_toys import randomize_bn
from torch import nn

import onebyone
from onebyone import OneByOneError
from onebyone.graph import passes
from onebyone.graph.settings import denormals_flushed, flush_denormal


def toy():
    return randomize_bn(nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.Conv2d(16, 32, 1), nn.Conv2d(32, 8, 1)))


def everything(model):
    """All a call could change in the model: tensors (bit for bit), flags, structure."""
    return ({k: v.clone() for k, v in model.state_dict(keep_vars=True).items()},
            {k: p.requires_grad for k, p in model.named_parameters()},
            {k: m.training for k, m in model.named_modules()}, repr(model))


def assert_same(model, before):
    tensors, grads, modes, structure = everything(model)
    assert (grads, modes, structure) == before[1:]
    assert tensors.keys() == before[0].keys()
    for k, v in before[0].items():
        assert torch.equal(tensors[k], v), k


def settings():
    return {"flush_denormal": flush_denormal(), "grad": torch.is_grad_enabled(),
            "threads": torch.get_num_threads(), "dtype": torch.get_default_dtype(),
            "rng": torch.get_rng_state()}


@pytest.fixture
def restore_settings():
    before = settings()
    yield
    torch.set_flush_denormal(before["flush_denormal"])
    torch.set_grad_enabled(before["grad"])
    torch.set_num_threads(before["threads"])
    torch.set_rng_state(before["rng"])


@pytest.mark.parametrize("flush", [True, False])
@pytest.mark.parametrize("call", ["optimize", "inspect"])
def test_model_flags_and_torch_settings_are_as_before(restore_settings, flush, call):
    model = toy()
    model[0].weight.requires_grad_(False)  # a frozen stem, as in fine-tuning
    torch.set_flush_denormal(flush)
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    torch.manual_seed(123)
    before, model_before = settings(), everything(model)
    if call == "optimize":
        onebyone.optimize(model, (1, 3, 8, 8), passes=list(passes.PASSES), runs=2)
    else:
        onebyone.inspect(model, (1, 3, 8, 8))
    now = settings()
    assert torch.equal(now.pop("rng"), before.pop("rng"))
    assert now == before
    assert_same(model, model_before)


@pytest.mark.parametrize("flush", [True, False])
def test_denormals_flushed_restores_the_setting_it_found(restore_settings, flush):
    torch.set_flush_denormal(flush)
    with denormals_flushed():
        assert flush_denormal()
    assert flush_denormal() == flush


class Counter(nn.Module):
    """A buffer updated in forward (as BatchNorm's num_batches_tracked is in training)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        return self.conv(x)


def test_a_buffer_updated_in_forward_does_not_move():
    model = Counter().eval()
    onebyone.optimize(model, (1, 3, 8, 8), speed=False)
    assert float(model.calls) == 0


def test_lazy_modules_stay_uninitialised_and_agree_once_materialised():
    model = nn.Sequential(nn.LazyConv2d(8, 1), nn.ReLU(), nn.Conv2d(8, 4, 1)).eval()
    x = torch.randn(1, 3, 8, 8)
    gm, report = onebyone.optimize(model, x, speed=False)
    assert isinstance(model[0].weight, nn.parameter.UninitializedParameter)
    with torch.no_grad():  # the same random stream the optimizer's copy drew from
        torch.testing.assert_close(gm(x), model(x))
    assert report["error"] <= report["tolerance"]


def frozen(model, names):
    for name, p in model.named_parameters():
        p.requires_grad_(not any(name.startswith(n) for n in names))
    return model


class Siblings(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a, self.b = nn.Conv2d(8, 4, 1), nn.Conv2d(8, 6, 1)
        self.c, self.d = nn.Conv2d(8, 16, 1), nn.Conv2d(16, 4, 1)

    def forward(self, x):
        x = self.stem(x)
        return torch.cat([self.a(x), self.b(x), self.d(torch.relu(self.c(x)))], 1)


@pytest.mark.parametrize("pass_name", ["fold_bn", "collapse", "merge_parallel", "low_rank", "swap",
                                       "memory_format"])
def test_frozen_parameters_stay_frozen(pass_name):
    model = frozen(toy(), ["0.", "1.", "3.", "4."])  # everything frozen
    if pass_name == "merge_parallel":
        model = frozen(Siblings().eval(), ["stem", "a", "b", "c", "d"])
    gm, report = onebyone.optimize(model, (1, 3, 8, 8), passes=[pass_name], rank=2,
                                   lossy_tolerance=10.0, speed=False)
    assert report["passes"][0]["changed"] >= 1
    assert [n for n, p in gm.named_parameters() if p.requires_grad] == []


def test_a_merge_of_frozen_and_trainable_siblings_is_refused():
    model = frozen(Siblings().eval(), ["a"])  # b is trainable, a is not: one weight can't be both
    gm, report = onebyone.optimize(model, (1, 3, 8, 8), passes=["merge_parallel"], speed=False)
    assert report["passes"][0]["changed"] == 0
    assert any("requires_grad" in s for s in report["passes"][0]["skipped"])
    assert not gm.get_submodule("a").weight.requires_grad and gm.get_submodule("b").weight.requires_grad


def test_folding_keeps_a_trainable_layer_trainable():
    # torch's fuse_conv_bn_eval makes a conv without bias get a frozen one; then a merge of
    # such convs would see mixed flags and be refused.
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 8, 1, bias=False), nn.BatchNorm2d(8)))
    gm, report = onebyone.optimize(model, (1, 3, 8, 8), passes=["fold_bn"], speed=False)
    assert report["passes"][0]["changed"] == 1
    assert all(p.requires_grad for p in gm.parameters())
