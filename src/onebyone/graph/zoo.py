"""Models by name, the one way every command builds them: random weights, eval mode, no download.

A name is ``ZOO:MODEL`` or a bare ``MODEL``, which means torchvision. Each zoo is one builder in
ZOOS: ``torchvision:resnet18`` (weights=None) and ``timm:efficientnet_b0`` (pretrained=False,
the optional extra ``onebyone[timm]``). An unknown name gets the closest names of that zoo.
"""
import difflib

from ..errors import OneByOneError, not_installed

# googlenet and inception_v3 default to training-time extras: auxiliary heads (an extra output
# in train mode, dead weight in eval) and an input re-normalisation meant for their released
# weights. Off, so the graph is the inference network itself and both are built alike;
# init_weights=False skips the slow truncated-normal init (and its warning): weights are random.
_TORCHVISION_KWARGS = {
    "googlenet": {"aux_logits": False, "transform_input": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "transform_input": False, "init_weights": False},
}


def _torchvision(name):
    import torchvision

    names = torchvision.models.list_models(module=torchvision.models)
    if name not in names:
        raise OneByOneError(f"expected a model file or a torchvision classification model name "
                            f"(e.g. resnet18, mobilenet_v2); got {name!r}, which is neither"
                            f"{_did_you_mean(name, names)}")
    return torchvision.models.get_model(name, weights=None, **_TORCHVISION_KWARGS.get(name, {}))


def _timm(name):
    try:
        import timm
    except ImportError as e:
        raise not_installed("timm", f"to build {name!r}", "timm") from e
    names = timm.list_models()
    if name not in names:
        raise OneByOneError(f"expected a timm model name (e.g. timm:efficientnet_b0); got {name!r}"
                            f"{_did_you_mean(name, names)}")
    return timm.create_model(name, pretrained=False)


def _did_you_mean(name, names):
    """'; did you mean resnet50?' for a near miss (case ignored), else ''.

    >>> _did_you_mean("ResNet50", ["resnet18", "resnet50", "vgg11"])
    '; did you mean resnet50?'
    >>> _did_you_mean("efficientnet_bo", ["efficientnet_b8", "efficientnet_b0", "efficientnet_b1"])
    '; did you mean efficientnet_b0 or efficientnet_b1 or efficientnet_b8?'
    >>> _did_you_mean("qqqq", ["resnet18"])
    ''
    """
    lowered = {n.lower(): n for n in names}
    if name.lower() in lowered:  # only the case differs: that is the one
        return f"; did you mean {lowered[name.lower()]}?"
    score = {n: difflib.SequenceMatcher(None, name.lower(), n).ratio() for n in lowered}
    # the best three; among equals the first in sorted order (efficientnet_b0 before _b8)
    close = sorted((n for n in lowered if score[n] >= 0.6), key=lambda n: (-score[n], n))[:3]
    return f"; did you mean {' or '.join(lowered[c] for c in close)}?" if close else ""


ZOOS = {"torchvision": _torchvision, "timm": _timm}


def build(name):
    """The model ``name`` (``resnet18``, ``torchvision:resnet18``, ``timm:resnet18``), random
    weights, eval mode.

    >>> build("squeezenet1_1").training
    False
    >>> build("inception_v3").AuxLogits is None
    True
    >>> type(build("timm:mobilenetv3_small_050")).__name__
    'MobileNetV3'
    """
    zoo, colon, model = name.partition(":")
    if not colon:
        zoo, model = "torchvision", name
    if zoo not in ZOOS:
        raise OneByOneError(f"expected a model zoo among {', '.join(ZOOS)} before ':'; got {name!r}"
                            f"{_did_you_mean(zoo, ZOOS)}")
    return ZOOS[zoo](model).eval()
