"""Models by name, the one way every command builds them: random weights, eval mode, no download.

A name is ``ZOO:MODEL`` or a bare ``MODEL``, which means torchvision. Each zoo is one builder in
ZOOS, so another source of models (timm, say) is one more entry there.
"""
from ..errors import OneByOneError

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

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise OneByOneError(f"expected a model file or a torchvision classification model name "
                            f"(e.g. resnet18, mobilenet_v2); got {name!r}, which is neither")
    return torchvision.models.get_model(name, weights=None, **_TORCHVISION_KWARGS.get(name, {}))


ZOOS = {"torchvision": _torchvision}


def build(name):
    """The model ``name`` (``resnet18`` or ``torchvision:resnet18``), random weights, eval mode.

    >>> build("squeezenet1_1").training
    False
    >>> build("inception_v3").AuxLogits is None
    True
    """
    zoo, colon, model = name.partition(":")
    if not colon:
        zoo, model = "torchvision", name
    if zoo not in ZOOS:
        raise OneByOneError(f"expected a model zoo among {', '.join(ZOOS)} before ':'; got {name!r}")
    return ZOOS[zoo](model).eval()
