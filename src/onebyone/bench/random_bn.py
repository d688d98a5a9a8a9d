"""BatchNorm statistics that are not the identity, for models built with random weights.

A freshly built model has running mean 0 and variance 1 in every BatchNorm, so folding one
changes almost nothing and quantizing sees unrealistically tame ranges. The benchmarks and the
tests draw them instead, seeded.
"""
import torch
from torch import nn


def randomized_bn(model, seed=0):
    """model, in eval mode, with seeded non-trivial BatchNorm statistics and affine parameters.

    >>> m = randomized_bn(nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)))
    >>> bool((m[1].running_var != 1).all()), m.training
    (True, False)
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(n, generator=g) * 0.1)
    return model.eval()
