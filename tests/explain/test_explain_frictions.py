"""The explain command's rough edges: --version, 80 columns, absurd sizes, bad paths, no nan."""
import re
import subprocess
import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onebyone
from onebyone.cli import main
from onebyone.explanation.text import to_text


def _cli(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_version(capsys):
    code, out, err = _cli(["--version"], capsys)
    assert code == 0 and out == f"onebyone {onebyone.__version__}\n" and err == ""
