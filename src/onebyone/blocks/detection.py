"""A detector head: sibling 1x1 convs predict, at every position, scores and box offsets for
each anchor."""
from torch import nn

from . import _checks
from ._layers import conv


class DetectionHead(nn.Module):
    """The Region Proposal Network head of Faster R-CNN (Ren et al., 2015, arXiv:1506.01497,
    Section 3.1): a 3x3 conv with ReLU, then two sibling 1x1 convs that read the same tensor.
    At every position of the feature map they predict, for each of ``num_anchors`` anchors,
    ``num_classes`` class logits and 4 box offsets (dx, dy, dw, dh).

    1x1 convs (the "fully connected" layers of the paper, slid over the image):
      - ``cls_logits`` (head: scores): C -> num_anchors * num_classes.
      - ``bbox_pred`` (head: boxes): C -> num_anchors * 4.

    With num_classes=1 (an objectness logit per anchor, sigmoid) this is torchvision's
    models.detection.rpn.RPNHead, names and all; more classes make it a one-stage detector's
    classification head. Weights start as the paper says: N(0, 0.01^2), biases 0. Channel
    a * num_classes + k of the scores is class k of anchor a; ``per_anchor`` reshapes the two
    maps into one row per (position, anchor).

    >>> import torch
    >>> head = DetectionHead(256, num_anchors=9, num_classes=1)
    >>> scores, boxes = head(torch.randn(1, 256, 10, 12))
    >>> scores.shape, boxes.shape
    (torch.Size([1, 9, 10, 12]), torch.Size([1, 36, 10, 12]))
    >>> [t.shape for t in head.per_anchor(scores, boxes)]    # 10 * 12 * 9 = 1080 anchors
    [torch.Size([1, 1080, 1]), torch.Size([1, 1080, 4])]
    """

    def __init__(self, in_channels, num_anchors=9, num_classes=1):
        super().__init__()
        name = type(self).__name__
        _checks.positive_ints(name, in_channels=in_channels, num_anchors=num_anchors,
                              num_classes=num_classes)
        self.num_anchors, self.num_classes = num_anchors, num_classes
        # Nested Sequential: the 3x3 conv's keys are conv.0.0.*, as in torchvision's RPNHead.
        self.conv = nn.Sequential(nn.Sequential(conv(in_channels, in_channels, 3), nn.ReLU()))
        self.cls_logits = conv(in_channels, num_anchors * num_classes)
        self.bbox_pred = conv(in_channels, num_anchors * 4)
        for layer in (self.conv[0][0], self.cls_logits, self.bbox_pred):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        t = self.conv(x)
        return self.cls_logits(t), self.bbox_pred(t)

    def per_anchor(self, scores, boxes):
        """(N, A*K, H, W), (N, A*4, H, W) -> (N, H*W*A, K), (N, H*W*A, 4), rows ordered by
        position (row-major), then anchor."""
        return self._rows(scores, self.num_classes), self._rows(boxes, 4)

    def _rows(self, t, width):
        n, _, h, w = t.shape
        t = t.view(n, self.num_anchors, width, h, w)   # channel a * width + k -> (a, k)
        return t.permute(0, 3, 4, 1, 2).reshape(n, h * w * self.num_anchors, width)

    def conv1x1_roles(self):
        # The rules see two heads (or, inside a network, reduce / expand); which predicts the
        # scores and which the boxes, only the block knows.
        return {"cls_logits": "head: scores", "bbox_pred": "head: boxes"}
