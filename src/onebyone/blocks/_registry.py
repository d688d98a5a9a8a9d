"""BLOCKS: each block by name, built with sensible defaults for a given number of input channels."""
from ..errors import OneByOneError
from .attention import SelfAttention2d
from .detection import DetectionHead
from .fire import Fire
from .inception import Inception
from .mobilenet import DepthwiseSeparable, InvertedResidual
from .nin import MlpConv
from .resnet import Bottleneck
from .se import SqueezeExcitation


def _part(channels, fraction):
    return max(1, round(channels * fraction))


def mlpconv(c):
    """MlpConv: 3x3 conv then two 1x1 convs, all c channels wide."""
    return MlpConv(c, (c, c, c))


def fire(c):
    """Fire: squeeze to c/8, expand to c/2 (1x1) + c/2 (3x3) -- SqueezeNet's squeeze ratio 0.125."""
    return Fire(c, _part(c, 1 / 8), _part(c, 1 / 2), _part(c, 1 / 2))


def inception(c):
    """Inception: the branch widths of GoogLeNet's inception (3a) scaled to c (exact at c=192)."""
    return Inception(c, _part(c, 64 / 192), _part(c, 96 / 192), _part(c, 128 / 192),
                     _part(c, 16 / 192), _part(c, 32 / 192), _part(c, 32 / 192))


def bottleneck(c):
    """Bottleneck: reduce to c/4, 3x3, expand to 4 * (c/4), stride 1."""
    return Bottleneck(c, _part(c, 1 / 4))


def inverted_residual(c):
    """InvertedResidual: expand 6x to 6c, depthwise 3x3, project back to c, stride 1."""
    return InvertedResidual(c, c, stride=1, expand_ratio=6)


def depthwise_separable(c):
    """DepthwiseSeparable: depthwise 3x3 then 1x1 pointwise to 2c (as MobileNet's 32 -> 64)."""
    return DepthwiseSeparable(c, 2 * c)


def squeeze_excitation(c):
    """SqueezeExcitation: gates from c -> c/16 -> c 1x1 convs on the pooled image."""
    return SqueezeExcitation(c)


def self_attention(c):
    """SelfAttention2d: query and key c -> c/8, value c -> c (SAGAN)."""
    return SelfAttention2d(c)


def detection_head(c):
    """DetectionHead: Faster R-CNN's RPN head, 9 anchors, 1 objectness score + 4 offsets each."""
    return DetectionHead(c, num_anchors=9, num_classes=1)


BLOCKS = {f.__name__: f for f in (mlpconv, fire, inception, bottleneck, inverted_residual,
                                  depthwise_separable, squeeze_excitation, self_attention,
                                  detection_head)}


def build(name, channels):
    """The block called ``name`` for ``channels`` input channels. Names are case-insensitive
    and '-' works for '_'."""
    key = name.lower().replace("-", "_") if isinstance(name, str) else name
    if key not in BLOCKS:
        raise OneByOneError(f"unknown block {name!r}; expected one of {', '.join(BLOCKS)}")
    return BLOCKS[key](channels)
