"""Float against int8 on a real task: scikit-learn's digits, held-out accuracy and time.

Trains onebyone.bench.digits' MobileNet-style net (seeded, ~20 s on one thread), then runs
onebyone.optimize(precision="int8") calibrated on the training images, and labels the held-out
test images with the float model and with what optimize returned:

    python benchmarks/int8_digits.py                       # seed 0, batches of 150 images
    python benchmarks/int8_digits.py --seed 1 --target openvino

Times are optimize's own: the float and int8 engines interleaved, medians (report["int8"]).
Needs the dev extras (scikit-learn, onnxruntime).
"""
import argparse

from onebyone.bench import digits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="training and split seed")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=150, help="images per call (the example)")
    parser.add_argument("--target", default="onnxruntime", help="the int8 engine")
    args = parser.parse_args(argv)

    model, split = digits.train(seed=args.seed, epochs=args.epochs)
    judged = digits.int8_accuracy(model, split, batch=args.batch, target=args.target, seed=args.seed)
    int8 = judged["report"]["int8"]
    row = int8["targets"][args.target]
    n = len(split.y_test)
    print(f"digits: {len(split.y_train)} training, {n} held-out images, seed {args.seed}")
    returned = f"{judged['precision']}, {judged['report']['target']} (what optimize returned)"
    returned_ms = row["int8_ms"] if judged["precision"] == "int8" else row["float_ms"]
    print(f"| model | held-out accuracy | ms per call (batch {args.batch}) |")
    print("|---|---|---|")
    print(f"| float, torch | {judged['float']:.4f} ({round(judged['float'] * n)}/{n}) | |")
    print(f"| float, {args.target} (the graph int8 starts from) | | {row['float_ms']:.2f} |")
    print(f"| {returned} | {judged['int8']:.4f} ({round(judged['int8'] * n)}/{n}) | "
          f"{returned_ms:.2f} |")
    print(f"int8 calibrated on {int8['calibration']}; budget judged on {int8['held_out']}: "
          f"{row['why']}")
    kept = [layer["node"] for layer in int8["layers"] if layer["precision"] == "float"]
    print(f"int8 share of MACs {int8['int8_macs_share']:.0%}; layers kept float: "
          f"{', '.join(kept) or 'none'}")
    print(f"optimize returned {judged['precision']}: {int8['why']}")


if __name__ == "__main__":
    main()
