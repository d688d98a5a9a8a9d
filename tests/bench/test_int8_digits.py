"""Int8 judged on a real task: the trained digits net keeps its held-out accuracy within one
point, under the default budget and under a metric on the user's labels, with the layers the
search chose running int8 inside onnxruntime."""
import pytest
import torch

import onebyone
from onebyone.graph import engines
from onebyone.graph.engines.base import Signature
from onebyone.graph.engines.export import onnx_bytes
from onebyone.graph.int8 import Budget
from onebyone.graph.int8.quantize import Quantizer, int8_layers
from onebyone.graph.int8.samples import split as split_inputs
from onebyone.graph.int8.search import search
from onebyone.graph.settings import denormals_flushed

BATCH = 50  # the engine's batch: 450 held-out digits are 9 calls


@pytest.fixture(scope="module")
def task(digits_trained):
    model, data = digits_trained  # train(seed=0), trained once for tests/bench (conftest.py)
    example = (data.x_test[:BATCH],)
    # the folded graph optimize would quantize (BatchNorm folded, verified)
    graph, _ = onebyone.optimize(model, example, speed=False)
    calib, held, words = split_inputs(data.x_train, data.x_test, example)
    with torch.no_grad():
        reference = [model(*x) for x in held]
    signature = Signature.of(example, model(*example))
    quantizer = Quantizer(onnx_bytes(graph, example), calib)

    def evaluate(data_):
        engine = engines.from_onnx("onnxruntime", data_, signature)
        with denormals_flushed():
            return engine, [engine(*x) for x in held]

    return {"model": model, "data": data, "held": held, "reference": reference, "words": words,
            "quantizer": quantizer, "evaluate": evaluate}


def accuracy(outputs, labels):
    return float((torch.cat(outputs).argmax(1) == labels).float().mean())


@pytest.mark.parametrize("budget", ["default", "labels"])
def test_int8_keeps_the_digits_accuracy_within_a_point(task, budget):
    labels = task["data"].y_test
    assert len(task["held"]) * BATCH == len(labels)  # every held-out digit, in order
    float_accuracy = accuracy(task["reference"], labels)
    assert float_accuracy >= 0.95
    if budget == "default":
        judge = Budget()
    else:  # the user's metric: int8 may lose at most one point of accuracy on their labels
        judge = Budget(lambda ref, got: accuracy(got, labels) >= accuracy(ref, labels) - 0.01)
    found = search(task["quantizer"], task["evaluate"], lambda out: judge.judge(task["reference"], out))
    assert found["met"]
    quantized = int8_layers(found["data"])
    assert len(quantized) >= len(task["quantizer"].layers) // 2  # int8 for real, not all float
    with denormals_flushed():
        got = [found["engine"](*x) for x in task["held"]]
    assert accuracy(got, labels) >= float_accuracy - 0.01
    assert "450 samples" in task["words"]["held_out"]
