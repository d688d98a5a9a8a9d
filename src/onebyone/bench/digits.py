"""A real task for int8's error budget: a small MobileNet-style net trained on scikit-learn's digits.

Random weights say how far int8 moves the numbers, not whether it still gets the answer right.
The bundled digits set (1797 8x8 grayscale handwritten digits, no download) is big enough to
train a net of depthwise and pointwise blocks with BatchNorm and squeeze-excitation in seconds,
and small enough to judge held-out accuracy in a test. The images are upsampled to 16x16 so the
blocks have a spatial grid to work on.

scikit-learn is a dev dependency only: it is imported when the data is loaded.
"""
from typing import NamedTuple

import torch
from torch import nn

from ..blocks import DepthwiseSeparable, InvertedResidual, SqueezeExcitation
from ..errors import OneByOneError
from ..nn import Conv1x1

SIZE = 16  # 8x8 digits upsampled to 16x16: two stride-2 stages still leave a 4x4 grid
CLASSES = 10
TEST_FRACTION = 0.25


class Split(NamedTuple):
    """The digits as (N, 1, 16, 16) float tensors in [0, 1] and (N,) int64 labels."""
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def network():
    """The net: a 3x3 stem, a depthwise-separable block, two inverted residuals each followed
    by squeeze-excitation, a 1x1 head, pooling and a linear classifier: 10 pointwise convs.

    >>> network()(torch.zeros(2, 1, SIZE, SIZE)).shape
    torch.Size([2, 10])
    """
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),  # 16x16
        DepthwiseSeparable(16, 24, stride=2),                                       # 8x8
        InvertedResidual(24, 24, stride=1, expand_ratio=4),  # with its shortcut
        SqueezeExcitation(24, 8),
        InvertedResidual(24, 48, stride=2, expand_ratio=4),                         # 4x4
        SqueezeExcitation(48, 12),
        Conv1x1(48, 96, bias=False), nn.BatchNorm2d(96), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(96, CLASSES),
    )


def data(seed=0):
    """The digits, stratified into train and held-out test (a quarter) by ``seed``."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as e:
        raise OneByOneError("expected scikit-learn for the digits task (a dev dependency): "
                            "pip install scikit-learn; got no module sklearn") from e
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16  # values 0..16
    x = nn.functional.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    y = torch.tensor(digits.target, dtype=torch.int64)
    train, test = train_test_split(range(len(y)), test_size=TEST_FRACTION, stratify=digits.target,
                                   random_state=seed)
    return Split(x[train], y[train], x[test], y[test])


def train(seed=0, epochs=6, batch_size=128, lr=6e-3):
    """(the trained net in eval mode, the Split it was trained and judged on), the same for the
    same seed. torch's settings (random stream, grad mode, threads) are left as found.

    It trains on one thread: the batches are small, and on a shared 2-core machine two threads
    were 10-17x slower per step than one (0.15 s against 1.6-2.5 s, measured here under load),
    and one thread also makes every sum run in the same order, whatever the machine.

    >>> model, split = train(epochs=1)
    >>> model.training, split.x_train.shape, split.y_test.shape
    (False, torch.Size([1347, 1, 16, 16]), torch.Size([450]))
    """
    from ..graph.settings import settings_kept

    split = data(seed)
    with settings_kept():
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        torch.set_grad_enabled(True)
        model = network()
        optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
        steps = epochs * -(-len(split.y_train) // batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)
        order = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            for batch in torch.randperm(len(split.y_train), generator=order).split(batch_size):
                loss = nn.functional.cross_entropy(model(split.x_train[batch]), split.y_train[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
    return model.eval(), split


@torch.no_grad()
def accuracy(model, x, y, batch_size=None):
    """The fraction of x that model labels as y, in one call or ``batch_size`` images at a time.
    An engine built for the example's batch takes only that batch: give it as batch_size, and
    the last, short chunk is padded with copies of its first image (their labels not counted).

    >>> accuracy(lambda x: torch.eye(10)[:len(x)], torch.zeros(4, 1), torch.tensor([0, 1, 5, 5]))
    0.5
    >>> accuracy(lambda x: torch.eye(3)[:len(x)], torch.zeros(4, 1), torch.tensor([0, 1, 2, 0]), 3)
    1.0
    """
    batch_size = batch_size or len(y)
    right = 0
    for xs, ys in zip(x.split(batch_size), y.split(batch_size)):
        padded = torch.cat([xs, xs[:1].expand(batch_size - len(xs), *xs.shape[1:])])
        right += int((model(padded)[:len(xs)].argmax(dim=1) == ys).sum())
    return right / len(y)


def int8_accuracy(model, split, batch=150, target="onnxruntime", seed=0):
    """Float against int8 on the held-out digits: {"float", "int8" (accuracies), "precision"
    (what optimize returned), "report" (optimize's), "engine"}.

    optimize(precision="int8") calibrates on the training images (read by
    onebyone.graph.calibration.inputs, batched like the example) and judges its budget on the
    last quarter of them; the test images are never seen. The example is a batch of ``batch``
    images: at batch 1 this net is so small that int8's quantize/dequantize steps cost more
    than they save, and optimize rightly returns the float engine.
    """
    from ..graph.optimize import optimize

    engine, report = optimize(model, split.x_train[:batch], precision="int8", target=target,
                              calibration=split.x_train, speed=False, seed=seed)
    return {"float": accuracy(model, split.x_test, split.y_test),
            "int8": accuracy(engine, split.x_test, split.y_test, batch_size=batch),
            "precision": report["precision"], "report": report, "engine": engine}
