"""MODEL arguments: a torchvision model name or a file (pickled module, TorchScript, .pt2, .onnx)."""
import logging
import os
import warnings
import zipfile

from ..errors import OneByOneError, first_line, not_installed
from .onnx_read import is_onnx
from .zoo import build

FILE_KINDS = ("pickled nn.Module (.pt/.pth)", "TorchScript", "torch.export program (.pt2)", "ONNX (.onnx)")


def load(spec):
    """The model named by ``spec``: an nn.Module, a GraphModule, or an ``onnx.ModelProto``.

    A string that is not an existing file is a model name, built by onebyone.graph.zoo with
    random weights (nothing is downloaded) in eval mode. TorchScript files load as ScriptModules
    (inspect reads them through an ONNX export; optimize needs a traceable nn.Module).

    >>> load("squeezenet1_1").training
    False
    """
    if not isinstance(spec, (str, os.PathLike)):
        import torch

        if isinstance(spec, torch.nn.Module) or is_onnx(spec):
            return spec
        raise OneByOneError(f"expected an nn.Module, a model name or a file; got {type(spec).__name__}")
    path = os.fspath(spec)
    if not os.path.exists(path):
        return build(path)
    try:
        return _read(path)
    except OneByOneError:
        raise
    except Exception as e:  # corrupt, foreign or unreadable (a directory, no permission)
        raise OneByOneError(f"expected a model file ({', '.join(FILE_KINDS)}); "
                            f"could not read {path!r}: {first_line(e)}") from e


def _read(path):
    if path.endswith(".onnx"):
        return _onnx(path, "ONNX").load(path)
    import torch

    if path.endswith(".pt2"):
        # torch's loader logs a traceback for a corrupt archive before raising; ours is one line.
        logger = logging.getLogger("torch.export")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            return torch.export.load(path).module()
        finally:
            logger.setLevel(level)
    if _is_torchscript(path):
        _onnx(path, "TorchScript")  # inspect reads TorchScript through an ONNX export
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated, still read
            return torch.jit.load(path, map_location="cpu").eval()
    obj = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(obj, torch.nn.Module):
        raise OneByOneError(f"expected {path!r} to hold a pickled nn.Module; got a "
                            f"{type(obj).__name__} (a state_dict needs its model class: pickle "
                            "the module itself with torch.save(model, path))")
    return obj


def _onnx(path, kind):
    """The onnx module, or one error naming the extra that brings it (make demo installs the
    base package only)."""
    try:
        import onnx
    except ImportError as e:
        raise not_installed("onnx", f"to read the {kind} file {path!r}", "onnx") from e
    return onnx


def _is_torchscript(path):
    # TorchScript archives carry a code/ directory; torch.save archives do not.
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any("/code/" in n for n in z.namelist())
