"""The README's main job: the whole pcc story on scikit-learn's bundled 8x8 digits.

Binarizes the digits, splits them into train/valid/test files, then runs the pcc commands a
user would: `pcc train` (an HCLT EiNet, EM, with a progress bar), `pcc check`, `pcc eval` with
the torch backend and with the reference interpreter, `pcc info --layers` (the compiled plan)
and `pcc viz` (a picture of the plan; its DOT text where graphviz is missing). Everything lands
in the output folder. It needs scikit-learn (the `examples` extra: `pip install 'pcc[examples]'`);
without it, one line says so and nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterator

import numpy as np

from pcc.cli.common import UsageError
from pcc.cli.options import int_at_least, output_folder, seed

# what a plain `pip install .` lacks for the demo (pyproject.toml's `examples` extra)
INSTALL_EXAMPLES = ("pip install 'pcc[examples]' (or pip install scikit-learn; from a clone: "
                    "pip install '.[examples]')")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", default="out", type=output_folder,
                        help="folder for the files it writes (made if missing)")
    parser.add_argument("--units", type=int_at_least(1), default=8,
                        help="units per region (K, default 8)")
    parser.add_argument("--epochs", type=int_at_least(1), default=15,
                        help="training epochs (default 15)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")


def require_sklearn() -> None:
    """A UsageError saying what to install when scikit-learn (the demo's data) is missing."""
    import importlib.util

    try:
        found = importlib.util.find_spec("sklearn") is not None
    except (ImportError, ValueError):  # a broken or blocked install counts as missing
        found = False
    if not found:
        raise UsageError("the demo's data come from scikit-learn, which is not installed: "
                         + INSTALL_EXAMPLES)


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


def picture_path(out: Path) -> Path:
    """Where the demo's picture goes: an SVG when graphviz's `dot` is on PATH; without it, the
    DOT text (which needs nothing), with one line saying why, so that a fresh machine without
    graphviz still runs the whole demo and exits 0."""
    from pcc.viz import dot_available

    if dot_available():
        return out / "digits-layers.svg"
    path = out / "digits-layers.dot"
    print(f"pcc demo: no picture (graphviz `dot` is not installed), writing {path} instead; "
          f"render it with `dot -Tsvg {path} -o {path.with_suffix('.svg')}` after "
          "installing graphviz", flush=True)
    return path


def run(args: argparse.Namespace) -> int:
    from pcc.cli.main import main as pcc

    require_sklearn()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = write_digits(out, args.seed)
    for step in demo_steps(args, out, data):
        print(f"\n$ pcc {' '.join(step)}", flush=True)
        status = pcc(step)
        if status != 0:
            print(f"pcc {step[0]} exited with status {status}")
            return status
    return 0


def demo_steps(args: argparse.Namespace, out: Path,
               data: dict[str, Path]) -> Iterator[list[str]]:
    """The pcc command lines, one at a time (a generator, so that the note about a missing
    `dot` prints just before the picture step, not above the training log)."""
    model = out / "digits.pcc"
    yield ["train", "--structure", "hclt", "--data", str(data["train"]), "--valid",
           str(data["valid"]), "--test", str(data["test"]), "--units", str(args.units),
           "--epochs", str(args.epochs), "--em", "--seed", str(args.seed), "-o", str(model)]
    yield ["check", str(model)]
    yield ["eval", str(model), "--data", str(data["test"])]
    yield ["eval", str(model), "--data", str(data["test"]), "--backend", "reference"]
    yield ["info", str(model), "--layers"]
    yield ["viz", str(model), "--view", "layers", "-o", str(picture_path(out))]
