"""conv1x1's auto dispatch against F.conv2d, its candidates and SGEMM on real models' shapes.

A shim over `onebyone bench ops` (same options, see its --help):

    python benchmarks/ops.py --out bench-out
    python benchmarks/ops.py --limit 5 --batch 1        # a quick look
"""
import sys

from onebyone.cli import main

if __name__ == "__main__":
    main(["bench", "ops", *sys.argv[1:]])
