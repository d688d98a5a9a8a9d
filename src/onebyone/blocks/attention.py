"""SAGAN's self-attention: query, key and value are 1x1 convs of the same feature map."""
import torch
from torch import nn

from . import _checks
from ._layers import conv


class SelfAttention2d(nn.Module):
    """The self-attention block of SAGAN (Zhang et al., 2019, arXiv:1805.08318, Section 3).

    Every position j attends over all positions i of the same feature map x (C channels,
    L = H*W positions): s_ij = f(x_i) . g(x_j), beta_j = softmax over i of s_ij,
    o_j = sum_i beta_ji h(x_i), and the output is y = gamma * o + x. gamma is learned and
    starts at 0, so the block starts as the identity and the network learns how much
    non-local evidence to mix in.

    1x1 convs (all three read the same x; each is a per-pixel linear map):
      - ``f`` (attention: key): C -> C / 8.
      - ``g`` (attention: query): C -> C / 8.
      - ``h`` (attention: value): C -> value_channels (default C).
      - ``v`` (projection): value_channels -> C, only when value_channels != C (the paper's final
        version uses C / 8 values and this W_v).

    The C / 8 of f and g is the paper's memory saving (``reduction=8``); it changes nothing
    about the shapes of the output.

    >>> import torch
    >>> block = SelfAttention2d(16)
    >>> x = torch.randn(1, 16, 8, 8)
    >>> torch.equal(block(x), x)                     # gamma = 0 at the start
    True
    >>> block.attention(x).shape                     # (N, L, L), each row a softmax
    torch.Size([1, 64, 64])
    """

    def __init__(self, in_channels, reduction=8, value_channels=None):
        super().__init__()
        name = type(self).__name__
        _checks.positive_ints(name, in_channels=in_channels, reduction=reduction)
        if value_channels is None:
            value_channels = in_channels
        _checks.positive_int(name, "value_channels", value_channels)
        # max(1, ...): a block of fewer than 8 channels still gets a 1-channel query and key.
        qk_channels = max(1, in_channels // reduction)
        self.f = conv(in_channels, qk_channels)
        self.g = conv(in_channels, qk_channels)
        self.h = conv(in_channels, value_channels)
        self.v = conv(value_channels, in_channels) if value_channels != in_channels else None
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention(self, x):
        """beta: (N, L, L) with beta[n, j, i] the weight of position i for position j."""
        key = self.f(x).flatten(2)                     # (N, C/8, L)
        query = self.g(x).flatten(2)                   # (N, C/8, L)
        scores = query.transpose(1, 2) @ key           # (N, L_j, L_i): s_ij for row j
        return torch.softmax(scores, dim=-1)

    def forward(self, x):
        beta = self.attention(x)                       # (N, L, L)
        value = self.h(x).flatten(2)                   # (N, Cv, L)
        o = value @ beta.transpose(1, 2)               # (N, Cv, L): o_j = sum_i beta_ji h(x_i)
        o = o.unflatten(2, x.shape[2:])                # (N, Cv, H, W)
        if self.v is not None:
            o = self.v(o)
        return x + self.gamma * o

    def conv1x1_roles(self):
        # The rules see three convs near a matmul ("attention") and v's Cv -> C as "expand";
        # which is the query, the key and the value, and that v maps back to the shortcut's
        # width, only the block knows.
        roles = {"f": "attention: key", "g": "attention: query", "h": "attention: value"}
        if self.v is not None:
            roles["v"] = "projection"
        return roles
