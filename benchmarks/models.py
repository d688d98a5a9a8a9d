"""Whole torchvision models: eager, channels_last, fx fuse, torch.compile, onebyone.optimize.

A shim over `onebyone bench models` (same options, see its --help):

    python benchmarks/models.py --out bench-out
    python benchmarks/models.py --model mobilenet_v2 --no-compile
"""
import sys

from onebyone.cli import main

if __name__ == "__main__":
    main(["bench", "models", *sys.argv[1:]])
