"""One builder for models by name: load (inspect, optimize) and the benchmark agree."""
import pytest
import torch

from onebyone import OneByOneError
from onebyone.bench import shapes
from onebyone.graph.load import load
from onebyone.graph.zoo import build


@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_every_command_builds_the_same_inference_graph(name):
    # Before one builder, the benchmark built inception_v3 with its auxiliary head and input
    # re-normalisation while inspect / optimize built it without.
    ours, bench = load(name), shapes.build(name)
    assert not ours.training and not bench.training
    assert not ours.aux_logits and not ours.transform_input
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in bench.named_modules()]
    assert not any("aux" in n.lower() for n, _ in ours.named_modules())


def test_prefixed_name_is_the_same_model():
    a, b = build("squeezenet1_1"), build("torchvision:squeezenet1_1")
    assert [(n, p.shape) for n, p in a.named_parameters()] == [(n, p.shape) for n, p in b.named_parameters()]
    assert a(torch.randn(1, 3, 32, 32)).shape == (1, 1000)


@pytest.mark.parametrize("name, message", [("nosuchzoo:resnet18", "model zoo among torchvision"),
                                           ("no_such_model", "torchvision classification model")])
def test_unknown_names_are_one_clear_error(name, message):
    with pytest.raises(OneByOneError, match=message):
        build(name)


def test_timm_names_build_with_random_weights():
    model = build("timm:mobilenetv3_small_050")
    assert not model.training and type(model).__module__.startswith("timm")
    assert load("timm:mobilenetv3_small_050")(torch.randn(1, 3, 32, 32)).shape == (1, 1000)


@pytest.mark.parametrize("name, hint", [("ResNet50", "did you mean resnet50"),
                                        ("timm:efficientnet_b0x", "did you mean efficientnet_b0"),
                                        ("tim:resnet18", "did you mean timm")])
def test_near_misses_get_the_close_names(name, hint):
    with pytest.raises(OneByOneError, match=hint):
        build(name)


def test_missing_timm_names_the_extra(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "timm", None)  # import timm raises ImportError
    with pytest.raises(OneByOneError, match=r"pip install 'onebyone\[timm\]'"):
        build("timm:resnet18")
