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
