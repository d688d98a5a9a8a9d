"""The proof of "outputs unchanged" cannot be fooled: NaN/inf, one output hiding another,
integer outputs, structure; and optimize rolls back a pass that only such a proof catches."""
import pytest
import torch
from graph_toys import assert_same_outputs
from torch import nn

import onebyone
from onebyone.graph import passes, verify

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("candidate", [[NAN, 2.0], [1.0, INF], [1.0, -INF], [NAN, NAN]])
def test_nan_or_inf_where_the_reference_is_finite_is_an_infinite_error(candidate):
    assert verify.error([torch.tensor([1.0, 2.0])], [torch.tensor(candidate)]) == INF


@pytest.mark.parametrize("reference, candidate, expected", [
    ([NAN, 2.0], [NAN, 2.0], 0.0),   # NaN at the same place: both compute the same thing
    ([INF, 2.0], [INF, 2.0], 0.0),
    ([NAN, 2.0], [1.0, 2.0], INF),   # the reference's NaN disappeared: not the same function
    ([NAN, 2.0], [2.0, NAN], INF),   # NaN moved
    ([INF, 2.0], [-INF, 2.0], INF),
    ([NAN, 2.0], [NAN, 2.5], 0.25),  # finite places still compared, on the finite scale
])
def test_nan_and_inf_in_the_reference(reference, candidate, expected):
    assert verify.error(torch.tensor(reference), torch.tensor(candidate)) == expected


def test_each_output_is_judged_on_its_own_scale():
    boxes = torch.linspace(0, 1e4, 20)
    scores = torch.sigmoid(torch.linspace(-3, 3, 20))
    wrong = scores.clone()
    wrong[3] += 0.17
    out = verify.compare({"boxes": boxes, "scores": scores}, {"boxes": boxes, "scores": wrong})
    assert out["worst"] == "['scores']"
    assert out["error"] == pytest.approx(0.17 / float(scores.max()), rel=1e-6)
    assert out["errors"]["['boxes']"] == 0.0
    assert out["error"] > verify.TOLERANCE[torch.float32]


@pytest.mark.parametrize("reference, candidate", [
    (torch.tensor([1, 2]), torch.tensor([1, 3])),                  # integers must be equal
    (torch.tensor([True, False]), torch.tensor([True, True])),     # so must bools
    (torch.ones(2, 3), torch.ones(3, 2)),                          # shape
    (torch.ones(2), torch.ones(2, dtype=torch.float64)),           # dtype
    ([torch.ones(2)], [torch.ones(2), torch.ones(2)]),             # structure
    ({"a": torch.ones(2)}, {"b": torch.ones(2)}),
    ((torch.ones(2), 3), (torch.ones(2), 4)),                      # a non-tensor leaf
])
def test_anything_but_the_same_kind_of_output_is_an_infinite_error(reference, candidate):
    assert verify.compare(reference, candidate)["error"] == INF


def test_equal_integer_outputs_and_empty_outputs_are_no_error():
    out = verify.compare([torch.tensor([4, 5]), torch.empty(0, 3)], [torch.tensor([4, 5]), torch.empty(0, 3)])
    assert out["error"] == 0.0 and out["worst"] == ""


def test_check_inputs_follow_the_example_dtype_and_device():
    example = (torch.zeros(1, 2, 3, dtype=torch.float64), torch.zeros(2, device="meta"),
               torch.arange(3))
    for check in verify.check_inputs(example, n_random=2):
        assert [(t.dtype, t.device.type) for t in check] == [
            (torch.float64, "cpu"), (torch.float32, "meta"), (torch.int64, "cpu")]
        assert torch.equal(check[2], example[2])  # integer inputs (indices) are kept as given


def overflowing_half_chain():
    """A float16 1x1 -> 1x1 chain whose composed weight overflows float16 (+-3e6 > 65504, so
    inf - inf = NaN in every output) while each conv alone stays in range on small inputs."""
    model = nn.Sequential(nn.Conv2d(8, 32, 1), nn.Conv2d(32, 4, 1)).eval()
    with torch.no_grad():
        model[0].weight.copy_(300.0 * torch.tensor([1.0, -1.0] * 4).view(1, 8, 1, 1))
        model[1].weight.fill_(300.0)
        model[0].bias.zero_()
        model[1].bias.zero_()
    return model.half()


def test_a_collapse_that_overflows_float16_is_rolled_back():
    model = overflowing_half_chain()
    x = (1e-3 * torch.randn(1, 8, 4, 4, generator=torch.Generator().manual_seed(0))).half()
    with torch.no_grad():
        assert torch.isfinite(model(x)).all()  # the original is fine on this input
    with pytest.warns(UserWarning, match="collapse rolled back"):
        gm, report = onebyone.optimize(model, x, passes=["collapse"], speed=False, n_random=0)
    step = report["passes"][0]
    assert step["changed"] == 1 and step["error"] == INF and not step["kept"]
    assert report["error"] == 0.0
    assert_same_outputs(model, gm, x)


class Detector(nn.Module):
    """Two heads on one feature map: boxes in pixels (~1e4) and scores in (0, 1)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Conv2d(3, 8, 3, padding=1)
        self.boxes, self.scores = nn.Conv2d(8, 4, 1), nn.Conv2d(8, 1, 1)

    def forward(self, x):
        f = torch.relu(self.features(x))
        return {"boxes": 1e4 * self.boxes(f), "scores": torch.sigmoid(self.scores(f))}


def test_a_pass_that_changes_only_the_small_output_is_rolled_back(monkeypatch):
    def breaks_scores(gm):  # what a wrong merge of the two heads could do to the scores
        gm = passes._rewrite.clone(gm)
        with torch.no_grad():
            gm.get_submodule("scores").bias.add_(1.0)
        return gm, passes._rewrite.report("merge_parallel", ["scores head changed"])

    monkeypatch.setitem(passes.PASSES, "merge_parallel", breaks_scores)
    model = Detector().eval()
    with pytest.warns(UserWarning, match="merge_parallel rolled back"):
        gm, report = onebyone.optimize(model, (1, 3, 8, 8), passes=["merge_parallel"], speed=False)
    step = report["passes"][0]
    assert not step["kept"] and 0.05 < step["error"] < 1  # the scores moved by ~0.1-0.2
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(gm(x), model(x))


def test_the_check_inputs_are_not_the_example_drawn_again():
    """An example given as a shape is drawn from the seed; the check inputs must be other
    inputs (the first of them was the example itself, one fewer input than the proof claims)."""
    from onebyone.graph.trace import make_inputs
    from onebyone.graph.verify import check_inputs

    for seed in (0, 3):
        example = make_inputs((1, 3, 8, 8), seed=seed)
        checks = check_inputs(example, n_random=3, seed=seed)
        tensors = [c[0] for c in checks]
        assert torch.equal(tensors[0], example[0]) and len(tensors) == 4
        assert not any(torch.equal(a, b) for i, a in enumerate(tensors) for b in tensors[i + 1:])
