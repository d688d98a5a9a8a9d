"""What `onebyone bench models --int8` prints and writes: the table without raw nan, the CSV,
the markdown with its command and a met/missed line per model that follows the measured row."""
import io
import re

from rich.console import Console

from onebyone.bench import int8

NAN = float("nan")


def row(name, speedup, returned):
    best = 10.0
    return int8.Int8Row(name, 900.0, best, 12.0, NAN, "onnxruntime", best, best / speedup, returned,
                        speedup, 5.0, 9.0, 2e-2, 1.0, 0.97, 1, 30.0, "1.0 -> 1.2")


def test_bench_int8_writes_its_table_and_says_met_or_missed_per_model(tmp_path, monkeypatch):
    rows = {"mobilenet_v3_large": row("mobilenet_v3_large", 1.5, "int8 on openvino"),
            "resnet18": row("resnet18", 1.31, "fp32 on onnxruntime"),  # fast, but not int8
            "shufflenet_v2_x1_0": row("shufflenet_v2_x1_0", 0.8, "int8 on openvino")}
    monkeypatch.setattr(int8, "measure", lambda name, compile, budget_s: rows[name])
    out = io.StringIO()
    int8.main("onebyone bench models --int8", tmp_path, tuple(rows),
              console=Console(file=out, width=100))
    printed, md = out.getvalue(), (tmp_path / "int8.md").read_text()
    assert not re.search(r"\bnan\b", printed + md, re.I) and "skipped" in md  # compile did not run
    assert md.startswith("Command: `onebyone bench models --int8`")
    assert "- mobilenet_v3_large: met (1.50x, int8 on openvino)" in md
    assert "- resnet18: missed (1.31x, fp32 on onnxruntime)" in md
    assert "- shufflenet_v2_x1_0: missed (0.80x, int8 on openvino)" in md
    csv_lines = (tmp_path / "int8.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(rows) and csv_lines[0].startswith("model,eager_ms")


def test_a_float_result_runs_none_of_its_macs_in_int8():
    """The column said 100% int8 for a model optimize returned in fp32 (the candidate's share)."""
    r8 = {"int8_macs_share": 1.0, "layers": [{"why": "kept float: costs most error"}],
          "targets": {"onnxruntime": {"agreement": 1.0, "int8_ms": 9.8, "float_ms": 8.3}}}
    ms = {"eager": 40.0, "onnxruntime": 8.0, "result": 8.1}
    for precision, share in (("fp32", 0.0), ("int8", 1.0)):
        report = {"int8": r8, "target": "onnxruntime", "precision": precision, "error": 0.0}
        r = int8.row("efficientnet_b0", ms, report, 20.0, "1.0 -> 1.0")
        assert r.int8_macs_share == share and r.kept_float == 1
        assert r.returned == f"{precision} on onnxruntime" and r.best_fp32 == "onnxruntime"
