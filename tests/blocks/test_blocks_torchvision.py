"""Where torchvision has the same block, its weights load into ours and the outputs agree."""
import pytest
import torch
from torch import nn
from torchvision.models.detection.rpn import RPNHead
from torchvision.models.googlenet import Inception as TvInception
from torchvision.models.mobilenetv2 import InvertedResidual as TvInvertedResidual
from torchvision.models.resnet import Bottleneck as TvBottleneck
from torchvision.models.squeezenet import Fire as TvFire
from torchvision.ops import SqueezeExcitation as TvSqueezeExcitation

from onebyone.blocks import (Bottleneck, DetectionHead, Fire, Inception, InvertedResidual,
                             SqueezeExcitation)


def _projection(cin, cout, stride):
    # torchvision's ResNet builds this shortcut outside the block and passes it in.
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


# (torchvision block, ours, input shape). Names match, so no key mapping is needed.
TWINS = [
    (lambda: TvFire(16, 3, 5, 6), lambda: Fire(16, 3, 5, 6), (2, 16, 7, 5)),
    (lambda: TvInception(16, 4, 3, 5, 2, 6, 7),
     lambda: Inception(16, 4, 3, 5, 2, 6, 7, large_kernel_size=3), (2, 16, 7, 5)),
    (lambda: TvBottleneck(16, 4), lambda: Bottleneck(16, 4), (2, 16, 7, 5)),
    (lambda: TvBottleneck(16, 8, stride=2, downsample=_projection(16, 32, 2)),
     lambda: Bottleneck(16, 8, stride=2), (2, 16, 7, 5)),
    (lambda: TvBottleneck(16, 4, groups=2, base_width=32), lambda: Bottleneck(16, 4, 1, 2, 32),
     (1, 16, 6, 6)),
    (lambda: TvInvertedResidual(16, 16, 1, 6), lambda: InvertedResidual(16, 16, 1, 6), (2, 16, 7, 5)),
    (lambda: TvInvertedResidual(16, 24, 2, 1), lambda: InvertedResidual(16, 24, 2, 1), (2, 16, 7, 5)),
    (lambda: TvSqueezeExcitation(16, 4), lambda: SqueezeExcitation(16, 4), (2, 16, 7, 5)),
    (lambda: RPNHead(16, 3), lambda: DetectionHead(16, num_anchors=3), (2, 16, 7, 5)),
]


def _randomize(module):
    """Random values everywhere, BatchNorm statistics included, so eval mode tests them too."""
    for p in module.parameters():
        nn.init.normal_(p, std=0.5)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    return module


@pytest.mark.parametrize("make_tv, make_ours, shape", TWINS)
def test_torchvision_weights_load_and_outputs_agree(make_tv, make_ours, shape):
    torch.manual_seed(0)
    # float64: both sides differ only in summation order, so the default float64 tolerance
    # (rtol 1e-7) holds and a real mismatch cannot hide in a loose float32 tolerance.
    theirs = _randomize(make_tv()).double().eval()
    ours = make_ours().double().eval()
    assert set(ours.state_dict()) == set(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(shape, dtype=torch.float64)
    with torch.no_grad():
        expected = theirs([x]) if isinstance(theirs, RPNHead) else theirs(x)
        got = ours(x)
    if isinstance(theirs, RPNHead):  # RPNHead takes and returns one map per pyramid level
        expected = tuple(level[0] for level in expected)
    torch.testing.assert_close(got, expected)


def test_our_weights_load_into_torchvision_too():
    torch.manual_seed(0)
    ours = _randomize(Bottleneck(16, 8, stride=2)).eval()
    theirs = TvBottleneck(16, 8, stride=2, downsample=_projection(16, 32, 2)).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(1, 16, 8, 8)
    with torch.no_grad():
        # float32 tolerance: the two sides may use different conv algorithms.
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


# The same blocks taken out of torchvision's whole networks (random init, nothing downloaded),
# with the configuration each has there.
def _in_model(name, pick, **kwargs):
    import torchvision.models

    return lambda: pick(getattr(torchvision.models, name)(weights=None, **kwargs))


IN_MODELS = [
    (_in_model("squeezenet1_0", lambda net: net.features[3]), lambda: Fire(96, 16, 64, 64), 96),
    (_in_model("googlenet", lambda net: net.inception3a, init_weights=False, aux_logits=False),
     lambda: Inception(192, 64, 96, 128, 16, 32, 32, large_kernel_size=3), 192),
    (_in_model("resnet50", lambda net: net.layer2[0]), lambda: Bottleneck(256, 128, stride=2), 256),
    (_in_model("mobilenet_v2", lambda net: net.features[4]),
     lambda: InvertedResidual(24, 32, 2, 6), 24),
]


@pytest.mark.parametrize("pick_tv, make_ours, channels", IN_MODELS)
def test_blocks_inside_torchvision_models(pick_tv, make_ours, channels):
    torch.manual_seed(0)
    theirs = _randomize(pick_tv()).double().eval()
    ours = make_ours().double().eval()
    ours.load_state_dict(theirs.state_dict())  # strict: every key matches, none left over
    x = torch.randn(1, channels, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
