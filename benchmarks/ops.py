"""conv1x1's auto dispatch against F.conv2d, its candidates and SGEMM on real models' shapes.

    python benchmarks/ops.py --out bench-out            # the same as `onebyone bench ops`
    python benchmarks/ops.py --limit 5 --batch 1        # a quick look
"""
import argparse
import shlex
import sys

from onebyone.bench import cli_ops, shapes

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="bench-out")
parser.add_argument("--model", action="append", choices=shapes.SUITE_MODELS)
parser.add_argument("--batch", action="append", type=int)
parser.add_argument("--budget", type=float, default=0.25, help="seconds per configuration")
parser.add_argument("--limit", type=int)
args = parser.parse_args()
cli_ops.main(args.out, tuple(args.model or shapes.SUITE_MODELS), tuple(args.batch or (1, 8)),
             args.budget, args.limit, command="python benchmarks/ops.py " + shlex.join(sys.argv[1:]))
