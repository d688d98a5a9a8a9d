"""Blocks built from 1x1 convolutions, as in the papers that made them famous.

Every 1x1 conv in them is an onebyone Conv1x1 (k x k convs are nn.Conv2d); where torchvision has
the same block, module names match so its state_dict loads as is. ``describe`` reads each block's
1x1 convs and their roles (onebyone.graph.roles' vocabulary) from the graph's census of the block
on an input size, as a block whose output feeds later layers; a block declares in
``conv1x1_roles()`` only what the rules cannot see (SelfAttention2d's query, key and value,
DetectionHead's scores and boxes).

>>> import torch
>>> from onebyone.blocks import Fire, describe
>>> Fire(96, 16, 64, 64)(torch.randn(1, 96, 8, 8)).shape
torch.Size([1, 128, 8, 8])
>>> [row.role for row in describe("inception", 28, 28, 192)]
['reduce', 'reduce', 'reduce', 'reduce']
"""
from ._describe import ROLES, ConvRow, describe, describe_module
from ._registry import BLOCKS, build
from .attention import SelfAttention2d
from .detection import DetectionHead
from .fire import Fire
from .inception import Inception
from .mobilenet import DepthwiseSeparable, InvertedResidual
from .nin import MlpConv
from .resnet import Bottleneck
from .se import SqueezeExcitation

__all__ = [
    "MlpConv", "Fire", "Inception", "Bottleneck", "InvertedResidual", "DepthwiseSeparable",
    "SqueezeExcitation", "SelfAttention2d", "DetectionHead",
    "BLOCKS", "build", "describe", "describe_module", "ConvRow", "ROLES",
]
