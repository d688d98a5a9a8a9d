"""Whole torchvision models: eager, channels_last, fx fuse, torch.compile, onebyone.optimize.

    python benchmarks/models.py --out bench-out          # the same as `onebyone bench models`
    python benchmarks/models.py --model mobilenet_v2 --no-compile
"""
import argparse
import shlex
import sys

from onebyone.bench import cli_models, models

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="bench-out")
parser.add_argument("--model", action="append", choices=models.MODELS)
parser.add_argument("--no-compile", action="store_true")
parser.add_argument("--budget", type=float, default=3.0, help="seconds of timed rounds per model")
args = parser.parse_args()
cli_models.main(args.out, tuple(args.model or models.MODELS), not args.no_compile, args.budget,
                command="python benchmarks/models.py " + shlex.join(sys.argv[1:]))
