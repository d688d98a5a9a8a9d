"""Calibration inputs for int8: the user's data in the example's shapes, or random ones, said so.

Static int8 fits one scale per tensor to the values it sees on these inputs, so what they are
decides how good int8 is: inputs() returns them with a sentence the report prints.

Every form of data is read the same way: a tensor whose trailing axes are the example's
per-sample shape (its shape without the batch axis) holds samples along its leading axes, one
sample for a (C, H, W) image, N for an (N, C, H, W) stack; samples are then batched like the
example (batch 1: one input per sample).
"""
from pathlib import Path

import numpy as np
import torch

from ..errors import OneByOneError, first_line
from .trace import make_inputs

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
DATA_SUFFIXES = (".npy", ".pt")
WANTED = ("calibration data: None, a directory of PNG/JPEG images, a .npy or .pt file, "
          "a tensor or an iterable of tensors")


def inputs(spec, example, *, count=16, seed=0, mean=None, std=None, size=None):
    """(a list of input tuples shaped like ``example``, a sentence saying where they came from).

    spec: None (``count`` seeded random normal inputs: no data was given, and the sentence says
    so); a directory of PNG/JPEG images (sorted by name, resized to ``size``, default the
    example's H x W, converted to its channel count, scaled to [0, 1], then normalised per channel
    by ``mean``/``std`` only if given: no ImageNet default, a model's preprocessing is its own);
    a .npy or .pt file holding a tensor of samples (a .pt may hold a list or tuple of them); a
    tensor or array of samples; or an iterable of tensors, arrays or tuples of them (one per
    model input). At most ``count`` inputs (None: all the data given). Bad data: one
    OneByOneError saying what was expected and what was given.

    >>> x = torch.zeros(1, 1, 4, 4)
    >>> batches, said = inputs(torch.arange(160.0).reshape(10, 1, 4, 4), x, count=3)
    >>> len(batches), batches[2][0].shape, said
    (3, torch.Size([1, 1, 4, 4]), '3 inputs from a tensor of 10 samples, values in [0, 47]')
    >>> print(inputs(None, x, count=2)[1])
    no calibration data was given: 2 random normal inputs (seed 0) shaped like the example; int8 scales fit to them may not fit real data
    """
    example = make_inputs(example)
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise OneByOneError(f"expected count to be a positive int or None; got {count!r}")
    if spec is None:
        return _random(example, 16 if count is None else count, seed)
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        if path.is_dir():
            images = _image_files(path, None if count is None else count * example[0].shape[0])
            samples = _images(images, example, size, mean, std)
            where = (f"{len(images)} images in {str(path)!r}, {_how_scaled(mean, std)}")
            return _batched([samples], example, count, where)
        return _from_file(path, example, count)
    if _is_array(spec):
        samples = _samples(_one_input(spec, example), 0, example)
        return _batched([samples], example, count, f"a tensor of {len(samples)} samples")
    return _from_items(spec, example, count, "the given data")


def _random(example, count, seed):
    gen = torch.Generator().manual_seed(seed)  # on the CPU: the same numbers on any device
    batches = [tuple(torch.randn(t.shape, generator=gen, dtype=t.dtype).to(t.device)
                     if t.is_floating_point() else t for t in example) for _ in range(count)]
    return batches, (f"no calibration data was given: {count} random normal inputs (seed {seed}) "
                     "shaped like the example; int8 scales fit to them may not fit real data")


def _from_file(path, example, count):
    if not path.exists():
        raise OneByOneError(f"expected {WANTED}; got {str(path)!r} (no such file or directory)")
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise OneByOneError(f"expected {WANTED}; got {str(path)!r} (a file of another kind)")
    try:
        if path.suffix.lower() == ".npy":
            data = np.load(path, allow_pickle=False)
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise OneByOneError(f"expected {WANTED}; got {str(path)!r}, which could not be read: "
                            f"{first_line(e)}") from e
    where = repr(str(path))
    if _is_array(data):
        return _batched([_samples(_one_input(data, example), 0, example, where)], example, count,
                        where)
    if isinstance(data, (list, tuple)):
        return _from_items(data, example, count, where)
    raise OneByOneError(f"expected {str(path)!r} to hold a tensor or a list or tuple of tensors; "
                        f"got {type(data).__name__}")


def _from_items(items, example, count, where):
    """Items one at a time: an unending loader is read only as far as count inputs need."""
    try:
        iterator = iter(items)
    except TypeError as e:
        raise OneByOneError(f"expected {WANTED}; got {type(items).__name__}") from e
    wanted = None if count is None else count * example[0].shape[0]
    per_input = [[] for _ in example]
    taken = 0
    for i, item in enumerate(iterator):
        parts = item if isinstance(item, (tuple, list)) else (item,)
        if len(parts) != len(example):
            raise OneByOneError(
                f"expected each item of {where} to hold {len(example)} tensor(s), one per model "
                f"input (drop labels); got item {i} with {len(parts)}")
        for position, part in enumerate(parts):
            per_input[position].append(_samples(part, position, example, f"item {i} of {where}"))
        taken += len(per_input[0][-1])
        if wanted is not None and taken >= wanted:
            break
    if not per_input[0]:
        raise OneByOneError(f"expected {WANTED}; got {where}, which is empty")
    return _batched([torch.cat(parts) for parts in per_input], example, count, where)


def _batched(samples, example, count, where):
    """Samples per model input -> batches shaped like the example, and the sentence."""
    sizes = {len(s) for s in samples}
    if len(sizes) != 1:
        raise OneByOneError(f"expected as many samples for every model input; got {sorted(sizes)} "
                            f"in {where}")
    n, batch = sizes.pop(), example[0].shape[0]
    if n < batch:
        raise OneByOneError(f"expected at least one batch of {batch} samples (the example's batch) "
                            f"in {where}; got {n}")
    total = n // batch if count is None else min(count, n // batch)
    batches = [tuple(s[i * batch:(i + 1) * batch] for s in samples) for i in range(total)]
    low = min(float(b[0].min()) for b in batches)
    high = max(float(b[0].max()) for b in batches)
    return batches, f"{total} inputs from {where}, values in [{low:.3g}, {high:.3g}]"


def _samples(data, position, example, where="the given data"):
    """A (k, *per-sample shape) tensor of the example's dtype and device, from one tensor."""
    t, target = _tensor(data, position, example, where), example[position]
    k = _leading(t, target, where)
    if not torch.can_cast(t.dtype, target.dtype):
        raise OneByOneError(f"expected {where} convertible to {target.dtype}; got {t.dtype}")
    return t.reshape(k, *target.shape[1:]).to(dtype=target.dtype, device=target.device)


def _tensor(data, position, example, where="the given data"):
    if isinstance(data, torch.Tensor):
        return data.detach()
    try:
        return torch.as_tensor(np.asarray(data))
    except Exception as e:
        raise OneByOneError(f"expected {where} to be a tensor or an array for model input "
                            f"{position} {tuple(example[position].shape)}; got "
                            f"{type(data).__name__} ({first_line(e)})") from e


def _leading(t, target, where="the given data"):
    """How many samples t holds: the product of its axes before the per-sample shape."""
    sample = tuple(target.shape[1:])
    if t.dim() < len(sample) or tuple(t.shape[t.dim() - len(sample):]) != sample:
        raise OneByOneError(
            f"expected {where} shaped (N, {', '.join(map(str, sample))}) or one sample "
            f"{sample}, like the example {tuple(target.shape)}; got {tuple(t.shape)}")
    return int(np.prod(t.shape[:t.dim() - len(sample)], dtype=np.int64))


def _is_array(data):
    return isinstance(data, (torch.Tensor, np.ndarray))


def _one_input(data, example):
    if len(example) != 1:
        raise OneByOneError(f"expected one tensor per model input ({len(example)} inputs): an "
                            f"iterable of tuples; got one {type(data).__name__}")
    return data


def _image_files(directory, limit):
    """The first ``limit`` (None: all) image files of directory, by name."""
    files = sorted(p for p in directory.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise OneByOneError(f"expected a directory with PNG or JPEG images; got {str(directory)!r} "
                            "with none")
    return files[:limit]


def _images(files, example, size, mean, std):
    """The images as one (N, C, H, W) float tensor, in [0, 1] or normalised by mean/std."""
    from torchvision.io import ImageReadMode, decode_image
    from torchvision.transforms.v2 import functional as F

    x = example[0]
    if len(example) != 1 or x.dim() != 4 or x.shape[1] not in (1, 3, 4):
        raise OneByOneError(f"expected a model with one image input (N, 1|3|4, H, W) to read "
                            f"images for; got an example of shapes {[tuple(t.shape) for t in example]}")
    channels = x.shape[1]
    mode = {1: ImageReadMode.GRAY, 3: ImageReadMode.RGB, 4: ImageReadMode.RGB_ALPHA}[channels]
    height, width = _size(size, x)  # bad size, mean or std: an error before any file is read
    normalise = mean is not None or std is not None
    if normalise:
        shift, scale = _per_channel("mean", mean, 0.0, channels), _per_channel("std", std, 1.0, channels)
    images = []
    for path in files:
        try:
            image = decode_image(str(path), mode=mode)  # (C, h, w) uint8
        except Exception as e:
            raise OneByOneError(f"expected a readable PNG or JPEG image; got {str(path)!r}: "
                                f"{first_line(e)}") from e
        images.append(F.resize(image, [height, width], antialias=True))
    batch = torch.stack(images).to(torch.float32) / 255
    if normalise:
        batch = (batch - shift) / scale
    return batch.to(dtype=x.dtype if x.is_floating_point() else torch.float32, device=x.device)


def _size(size, x):
    if size is None:
        return int(x.shape[2]), int(x.shape[3])
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                 for v in pair):
        raise OneByOneError(f"expected size as a positive int or (height, width); got {size!r}")
    return pair


def _per_channel(name, values, default, channels):
    """mean or std as a (1, C, 1, 1) tensor: one number for every channel, or one per channel."""
    try:
        values = [default] if values is None else [float(v) for v in np.atleast_1d(values)]
    except (TypeError, ValueError) as e:
        raise OneByOneError(f"expected {name} as numbers; got {values!r}") from e
    if len(values) == 1:
        values = values * channels
    if len(values) != channels or (name == "std" and min(values) <= 0):
        raise OneByOneError(f"expected {name} as one number or {channels} (one per channel)"
                            f"{', all positive' if name == 'std' else ''}; got {values}")
    return torch.tensor(values, dtype=torch.float32).reshape(1, channels, 1, 1)


def _how_scaled(mean, std):
    if mean is None and std is None:
        return "resized, scaled to [0, 1], not normalised (pass mean and std to normalise)"
    return f"resized, scaled to [0, 1], normalised with mean {mean} and std {std}"
