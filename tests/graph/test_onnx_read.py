"""The ONNX front end (graph/onnx_read.py): every exporter's shapes of the same facts become
initializers and static shapes, computed by onnx itself, and bad input shapes get one error."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from onebyone import OneByOneError  # noqa: E402
from onebyone.graph.onnx_read import read_onnx, static_shapes  # noqa: E402

ort = pytest.importorskip("onnxruntime")


def model(nodes, x_dims, inits=()):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_dims)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def run(m, x):
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def weight(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def reshaping_model():
    """Constant weight -> Identity -> Transpose (a constant subgraph) feeds a MatMul; the
    Reshape target is computed from the input's dynamic dims (Shape -> Gather -> Concat)."""
    w = numpy_helper.from_array(weight((6, 4)), "w_t")
    nodes = [
        helper.make_node("Constant", [], ["w0"], value=w),
        helper.make_node("Identity", ["w0"], ["w1"]),
        helper.make_node("Transpose", ["w1"], ["w"], perm=[1, 0]),
        helper.make_node("Identity", ["x"], ["x1"]),
        helper.make_node("Shape", ["x1"], ["s"]),
        helper.make_node("Constant", [], ["i"], value=numpy_helper.from_array(np.array([0], np.int64))),
        helper.make_node("Gather", ["s", "i"], ["n"]),
        helper.make_node("Constant", [], ["rest"], value=numpy_helper.from_array(np.array([-1, 4], np.int64))),
        helper.make_node("Concat", ["n", "rest"], ["target"], axis=0),
        helper.make_node("Reshape", ["x1", "target"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["y"]),
    ]
    return model(nodes, ["batch", "tokens", 4])


def test_constants_identities_and_shapes_fold_into_initializers():
    m = reshaping_model()
    before = m.SerializeToString()
    got = read_onnx(m, [(2, 5, 4)])
    assert m.SerializeToString() == before  # the model passed in is not changed
    assert [n.op_type for n in got.graph.node] == ["Reshape", "MatMul"]
    inits = {i.name: numpy_helper.to_array(i) for i in got.graph.initializer}
    assert set(inits) == {"w", "target"}
    np.testing.assert_array_equal(inits["target"], [2, -1, 4])
    assert static_shapes(got)["y"] == [2, 5, 6]
    x = weight((2, 5, 4), seed=1)
    np.testing.assert_allclose(run(got, x), run(m, x), rtol=1e-6, atol=1e-6)


def test_unused_initializers_go_and_params_count_once():
    w = numpy_helper.from_array(weight((4, 3, 1, 1)), "w")
    nodes = [helper.make_node("Identity", ["w"], ["w_read"]), helper.make_node("Conv", ["x", "w_read"], ["y"])]
    got = read_onnx(model(nodes, [1, 3, 8, 8], [w]), None)
    assert [i.name for i in got.graph.initializer] == ["w_read"]
    assert [n.op_type for n in got.graph.node] == ["Conv"]


@pytest.mark.parametrize("shapes, message", [
    (None, "expected an input shape (--input) for the symbolic dims of ONNX input 'x' (batchxtokensx4); got none"),
    ([(2, 5)], "expected an input shape of rank 3 for ONNX input 'x' (batchxtokensx4); got 2x5"),
    ([(2, 5, 3)], "expected an input shape that agrees with ONNX input 'x''s fixed dims (batchxtokensx4); got 2x5x3"),
    ([(1, 5, 4), (1, 2)], "expected at most 1 input shape(s), one per input of the ONNX graph (x); got 2"),
])
def test_bad_input_shapes_get_one_error(shapes, message):
    with pytest.raises(OneByOneError) as e:
        read_onnx(reshaping_model(), shapes)
    assert str(e.value) == message


def test_a_channel_count_the_weights_do_not_take_is_one_error():
    """onnx's shape inference does not check a Conv's input channels against its weight;
    inspect does, for a symbolic channel dim filled from --input."""
    import onebyone

    w = numpy_helper.from_array(weight((4, 3, 1, 1)), "w")
    m = model([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], ["N", "C", 8, 8], [w])
    assert [r["cin"] for r in onebyone.inspect(m, (1, 3, 8, 8)).rows] == [3]
    with pytest.raises(OneByOneError) as e:
        onebyone.inspect(m, (1, 5, 8, 8))
    assert str(e.value) == ("expected 3 input channels at ONNX Conv 'c' (its weight is (4, 3, 1, 1), "
                            "group 1); the input shape gives 5")


def test_shapes_recorded_at_the_export_size_do_not_contradict_the_input():
    """A file whose value_info and outputs were written at 1x3x224x224 (a dynamic export run at
    its example size) is read at another size: the recorded shapes are inferred again."""
    w = numpy_helper.from_array(weight((4, 3, 1, 1)), "w")
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
                          "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4, 224, 224])], [w],
                          value_info=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 224, 224])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    shapes = static_shapes(read_onnx(m, [(2, 3, 8, 6)]))
    assert (shapes["y"], shapes["z"]) == ([2, 4, 8, 6], [2, 4, 8, 6])


def test_a_constant_node_onnx_cannot_compute_stays_and_the_rest_fold():
    """The reference evaluator fails on a Gather of an index out of range (shape inference
    accepts it): that node stays, with what it reads, and the weight behind Identity folds."""
    const = numpy_helper.from_array
    w = const(weight((4, 3, 1, 1)), "w")
    nodes = [
        helper.make_node("Identity", ["w"], ["w_read"]),
        helper.make_node("Conv", ["x", "w_read"], ["c"]),
        helper.make_node("Constant", [], ["table"], value=const(weight((4,)))),
        helper.make_node("Constant", [], ["index"], value=const(np.array([7], np.int64))),
        helper.make_node("Gather", ["table", "index"], ["shift"]),
        helper.make_node("Add", ["c", "shift"], ["y"]),
    ]
    got = read_onnx(model(nodes, [1, 3, 8, 8], [w]), None)
    assert [n.op_type for n in got.graph.node] == ["Conv", "Gather", "Add"]
    assert {i.name for i in got.graph.initializer} == {"w_read", "table", "index"}
