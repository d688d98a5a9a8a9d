"""Counts that are right (issue 10): every conv counts whatever its padding_mode; a module called
k times counts its parameters once and its MACs k times."""
import torch
from torch import nn

from onebyone.graph import inspect


class Thrice(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        return self.conv(torch.relu(self.conv(torch.relu(self.conv(x)))))


def test_reflect_padded_convs_count():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect"),
                          nn.Conv2d(8, 4, 1, padding_mode="reflect"))
    result = inspect(model, (1, 3, 6, 6))
    assert [r["module"] for r in result.rows] == ["1"]
    assert result.rows[0]["macs"] == 4 * 8 * 36
    assert result.totals["model_macs"] == 8 * 27 * 36 + 4 * 8 * 36


def test_a_module_called_three_times_counts_params_once_and_macs_three_times():
    result = inspect(Thrice(), (1, 4, 5, 5))
    assert [r["module"] for r in result.rows] == ["conv"] * 3
    assert result.totals["model_params"] == 20
    assert result.totals["conv1x1_params"] == 20
    assert result.totals["params_share"] == 1.0
    assert result.totals["conv1x1_macs"] == result.totals["model_macs"] == 3 * 16 * 25


class SamePadded(nn.Conv2d):
    """A conv that pads by its input's size (timm's Conv2dSame does): torch.fx cannot trace it,
    so it is kept whole, and it is still a conv to count."""

    def forward(self, x):
        if x.shape[-1] % 2:
            x = nn.functional.pad(x, (0, 1, 0, 1))
        return super().forward(x)


def test_a_conv_kept_whole_is_still_counted():
    result = inspect(nn.Sequential(nn.Conv2d(3, 8, 3), SamePadded(8, 4, 1)), (1, 3, 6, 6))
    assert result.kept_whole == [{"module": "1", "reason": "control flow on a tensor"}]
    assert [(r["module"], r["macs"]) for r in result.rows] == [("1", 4 * 8 * 16)]
