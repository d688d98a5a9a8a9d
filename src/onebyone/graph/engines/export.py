"""A model and its example -> ONNX bytes in memory, for onnxruntime and OpenVINO.

torch 2.14 has two exporters: the TorchScript-based one (dynamo=False: deprecated, ~0.4 s for
mobilenet_v2 here) and the torch.export-based one (dynamo=True: ~4 s, needs onnxscript). The
fast one is tried first; the other only if it fails. Shapes are the example's (static), which
lets both engines plan memory and pick kernels once.
"""
import io
import os
import tempfile
import warnings

import torch

from ...errors import OneByOneError, cause_line

# model.meta key: {"inputs": names, "outputs": names} to give the exported graph (an ONNX
# file's own names, kept through optimize); without it inputs are input_0, input_1, ...
IO_NAMES = "onnx_io_names"


def onnx_bytes(model, example):
    """The ONNX model of ``model`` on ``example`` (a tuple of tensors), serialized.

    >>> data = onnx_bytes(torch.nn.Conv2d(3, 4, 1).eval(), (torch.zeros(1, 3, 4, 4),))
    >>> import onnx
    >>> graph = onnx.load_from_string(data).graph
    >>> [node.op_type for node in graph.node], graph.input[0].name
    (['Conv'], 'input_0')
    """
    given = getattr(model, "meta", {}).get(IO_NAMES, {})
    names = given.get("inputs") or [f"input_{i}" for i in range(len(example))]
    errors = []
    for dynamo in (False, True):
        try:
            return _export(model, tuple(example), names, given.get("outputs"), dynamo)
        except Exception as e:  # try the other exporter, then report both
            errors.append(f"{'dynamo' if dynamo else 'TorchScript'} exporter: {cause_line(e)}")
    raise OneByOneError(f"expected a model torch.onnx.export can export; {'; '.join(errors)}")


def _export(model, example, names, output_names, dynamo):
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # deprecation notices of the TorchScript exporter
        if not dynamo:
            buffer = io.BytesIO()
            torch.onnx.export(model, example, buffer, dynamo=False, input_names=names,
                              output_names=output_names)
            return buffer.getvalue()
        # The dynamo exporter writes through a file (weights may go beside it otherwise).
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model.onnx")
            torch.onnx.export(model, example, path, dynamo=True, input_names=names,
                              output_names=output_names,
                              external_data=False, verbose=False)
            with open(path, "rb") as f:
                return f.read()
