"""The README's main job: the whole pcc story on scikit-learn's bundled 8x8 digits.

Binarizes the digits, splits them into train/valid/test files, then runs the pcc commands a
user would: `pcc train` (an HCLT EiNet, EM, with a progress bar), `pcc check`, `pcc eval` with
the torch backend and with the reference interpreter, `pcc info --layers` (the compiled plan)
and `pcc viz` (a picture of the plan). Everything lands in the output folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", default="out", help="folder for the files it writes")
    parser.add_argument("--units", type=int, default=8, help="units per region (K)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)


def write_digits(out: Path, seed: int) -> dict[str, Path]:
    """scikit-learn's digits, pixels > 7 as 1, split 70/10/20 at random, as .data files."""
    from sklearn.datasets import load_digits

    images = (load_digits().data > 7).astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(images))
    cuts = [int(0.7 * len(images)), int(0.8 * len(images))]
    paths = {}
    for name, rows in zip(("train", "valid", "test"), np.split(order, cuts)):
        paths[name] = out / f"digits.{name}.data"
        np.savetxt(paths[name], images[rows], fmt="%d", delimiter=",")
    print(f"digits: {len(images)} binarized 8x8 images -> "
          + ", ".join(f"{p.name} ({len(r)} rows)" for p, r in
                      zip(paths.values(), np.split(order, cuts))))
    return paths


def run(args: argparse.Namespace) -> int:
    from pcc.cli.main import main as pcc

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = write_digits(out, args.seed)
    model = out / "digits.pcc"
    steps = [
        ["train", "--structure", "hclt", "--data", str(data["train"]), "--valid",
         str(data["valid"]), "--test", str(data["test"]), "--units", str(args.units),
         "--epochs", str(args.epochs), "--em", "--seed", str(args.seed), "-o", str(model)],
        ["check", str(model)],
        ["eval", str(model), "--data", str(data["test"])],
        ["eval", str(model), "--data", str(data["test"]), "--backend", "reference"],
        ["info", str(model), "--layers"],
        ["viz", str(model), "--view", "layers", "-o", str(out / "digits-layers.svg")],
    ]
    for step in steps:
        print(f"\n$ pcc {' '.join(step)}", flush=True)
        status = pcc(step)
        if status != 0:
            print(f"pcc {step[0]} exited with status {status}")
            return status
    return 0
