"""The typed reports: every field declared once, read as the JSON they write, nothing added."""
import json

import pytest
import torch

import onebyone
from onebyone.graph.reports import OptimizeReport, PassReport, Speed


def test_a_pass_report_reads_as_its_json_and_leaves_out_what_did_not_happen():
    step = PassReport("fold_bn", ["bn folded into conv"], ["bn2: its conv is shared"])
    step.error, step.tolerance, step.kept = 0.0, 1e-4, True
    assert step.to_dict() == {"pass": "fold_bn", "details": ["bn folded into conv"],
                              "skipped": ["bn2: its conv is shared"], "changed": 1, "error": 0.0,
                              "tolerance": 1e-4, "kept": True}
    assert dict(step) == step.to_dict() and "failure" not in step and "modules" not in step
    step.failure = "boom"
    assert step["failure"] == "boom" and "failure" in step


def test_a_report_is_not_a_bag_of_keys():
    step = PassReport("swap")
    with pytest.raises(TypeError):
        step["extra"] = 1  # read-only as a mapping
    with pytest.raises(AttributeError):
        step.extra = 1  # and no undeclared attribute
    with pytest.raises(KeyError):
        step["extra"]


def test_parts_reports_join_under_their_path():
    outer, inner = PassReport("merge_parallel"), PassReport("merge_parallel", ["a, b merged into ab"])
    inner.modules = ["ab"]
    outer.absorb("block", inner)
    assert (outer.changed, outer.details, outer.modules) == (1, ["block: a, b merged into ab"], ["block.ab"])


def test_speed_derives_its_ratio():
    s = Speed(before_ms=3.0, after_ms=2.0, runs=5)
    assert s.to_dict() == {"before_ms": 3.0, "after_ms": 2.0, "speedup": 1.5, "runs": 5,
                           "denormals": "flushed"}


def test_optimize_returns_a_typed_report_whose_json_is_its_mapping():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.BatchNorm2d(8)).eval()
    _, report = onebyone.optimize(model, (1, 3, 6, 6), speed=False)
    assert isinstance(report, OptimizeReport) and all(isinstance(p, PassReport) for p in report.passes)
    data = json.loads(json.dumps(report.to_dict()))  # plain data all the way down
    assert data["passes"][0] == dict(report["passes"][0]) and data["target"] == report.target == "torch"
    assert "int8" not in report and "saved" not in report and report["speed"] is None


def test_inspect_returns_a_record_too():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.Conv2d(8, 8, 1)).eval()
    result = onebyone.inspect(model, (1, 3, 6, 6))
    assert result["rows"] is result.rows and len(result.rows) == 2
    assert json.loads(json.dumps(result.to_dict())) == dict(result)
    with pytest.raises(AttributeError):
        result.notes = []  # a field nobody declared
