"""The CLI's text and JSON outputs carry the computed facts; the JSON schema holds still."""
import json

import pytest

import onebyone
from onebyone.cli import main

# The schema's field names, frozen: changing them means a new schema version (docs/explain.md).
SCHEMA_FIELDS = {
    "": ["schema", "layer", "weights", "cost", "matrix", "whole_image", "roofline", "notes",
         "example", "answers", "pytorch_code"],
    "answers.0": ["key", "question", "answer", "about_this_layer"],
    "layer": ["dims", "batch", "in_channels", "out_channels", "input_size", "kernel", "stride",
              "padding", "groups", "bias", "output_size", "input_shape_nchw", "output_shape_nchw"],
    "weights": ["pytorch_shape", "keras_shape", "filters", "filter_shape", "kernels",
                "kernel_shape",
                "slices_2d", "params_without_bias", "bias_params", "params_with_bias", "params"],
    "cost": ["output_elements", "macs", "flops", "bias_adds"],
    "matrix": ["channels_last", "channels_first", "im2col_shape", "im2col_elements",
               "input_elements", "im2col_is_identity", "im2col_expansion"],
    "matrix.channels_last": ["left", "right", "result", "count", "meaning"],
    "whole_image": ["structure", "shape", "entries", "nonzeros", "density", "sparsity",
                    "entries_per_nonzero",
                    "block_shape", "block_grid", "sub_block_shape", "nonzero_sub_blocks",
                    "dense_bytes", "gemm_weight_bytes"],
    "roofline": ["dtype_bytes", "bytes_moved", "intensity", "peak_flops", "peak_bandwidth",
                 "peaks_source", "balance", "bound", "min_time_s", "peaks_measured"],
    "notes.0": ["key", "text"],
    "example": ["seed", "in_channels", "out_channels", "groups", "size", "x_hwc", "weight", "bias",
                "dot_products", "output_hwc", "output_onebyone", "output_torch", "max_abs_diff",
                "whole_image", "whole_image_agrees", "gemm_x", "gemm_w", "gemm_y", "gemm_agrees",
                "stand_in", "kernel", "stride", "padding", "output_size", "weight_rank",
                "kernel_slides"],
    "example.dot_products.0": ["pixel", "out_channel", "terms", "bias", "value"],
}


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", *argv])
    out = capsys.readouterr()
    assert exit_info.value.code == 0, out.err
    return out.out


def _at(doc, path):
    for part in filter(None, path.split(".")):
        doc = doc[int(part)] if part.isdigit() else doc[part]
    return doc


def test_json_schema_is_stable(capsys):
    doc = json.loads(run(["28x28x192", "--filters", "32", "--example", "--json"], capsys))
    assert doc["schema"] == "onebyone.explain/1"
    for path, fields in SCHEMA_FIELDS.items():
        assert list(_at(doc, path)) == fields, path


def test_json_equals_the_api(capsys):
    doc = json.loads(run(["--input", "2,64,14,14", "--layout", "nchw", "--filters", "128",
                          "--stride", "2", "--json"], capsys))
    api = onebyone.explain("2,64,14,14", filters=128, stride=2)
    assert doc == json.loads(json.dumps(api.as_dict()))
    assert doc["layer"]["output_shape_nchw"] == [2, 128, 7, 7]
    assert [n["key"] for n in doc["notes"]] == ["channel_mixing", "expansion", "stride"]


def test_text_shows_the_numbers(capsys):
    out = run(["28x28x192", "--filters", "32"], capsys)
    e = onebyone.explain("28x28x192", filters=32)
    for expected in [
        "(32, 192, 1, 1)", "(1, 1, 192, 32)", f"{e.weights.params_with_bias:,}",
        f"{e.cost.macs:,}", f"{e.cost.flops:,}", "(784, 192) @ (192, 32) -> (784, 32)",
        "(32, 192) @ (192, 784) -> (32, 784)", "(25088, 150528)", "kron(W, I_P)",
        "assumed", "compute-bound", "Reduction",
    ]:
        assert expected in out, expected


@pytest.mark.parametrize("argv, key", [
    (["28x28x1", "--filters", "16"], "cin_one"),
    (["28x28x64", "--filters", "64"], "cin_eq_cout"),
    (["28x28x192", "--filters", "32"], "reduction"),
    (["28x28x64", "--filters", "64", "--groups", "64"], "groups"),
    (["28x28x64", "--filters", "64", "--stride", "2"], "stride"),
    (["28x28x64", "--filters", "64", "--padding", "1"], "padding"),
    (["28x28x3", "--filters", "32", "--kernel", "3"], "general_kernel"),
    (["8x28x28x3", "--filters", "32", "--kernel", "3", "--dims", "3"], "dims"),
])
def test_each_special_case_gets_its_note(argv, key, capsys):
    doc = json.loads(run([*argv, "--json"], capsys))
    assert key in [n["key"] for n in doc["notes"]]


def test_kernel_shows_im2col_and_toeplitz(capsys):
    out = run(["32x32x3", "--filters", "32", "--kernel", "3", "--padding", "1"], capsys)
    assert "(1024, 27) @ (27, 32) -> (1024, 32)" in out
    assert "(1024, 27) patch matrix" in out and "9x" in out
    assert "doubly blocked Toeplitz" in out and "32x32 grid of (32, 32)" in out


def test_measure_labels_measured_peaks():
    e = onebyone.explain("14x14x96", filters=24, measure=True)
    assert e.roofline.peaks_source.startswith("measured here")
    assert e.roofline.peak_flops > 1e8 and e.roofline.peak_bandwidth > 1e8
