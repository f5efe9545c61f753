"""The README's main job: build a circuit from scikit-learn's digits, check it, save it, evaluate it.

Fits a mixture of independent Bernoullis (k-means clusters) to binarized 8x8 digits, writes it
as a .pcc file, reads it back, prints its check report and statistics, and the test
log-likelihood from the reference interpreter.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pcc.ir import BINARY, Circuit, CircuitBuilder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", default="out", help="folder for the files it writes")
    parser.add_argument("--components", type=int, default=10, help="mixture components")
    parser.add_argument("--seed", type=int, default=0)


def load_digits_binary(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits, pixels > 7 as 1, split 80/20 at random."""
    from sklearn.datasets import load_digits

    images = (load_digits().data > 7).astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(images))
    cut = int(0.8 * len(images))
    return images[order[:cut]], images[order[cut:]]


def bernoulli_mixture(train: np.ndarray, components: int, seed: int) -> Circuit:
    """A mixture of fully factorized Bernoullis, fitted by k-means and smoothed counts."""
    from sklearn.cluster import KMeans

    labels = KMeans(components, n_init=4, random_state=seed).fit_predict(train)
    counts = np.bincount(labels, minlength=components)
    p = np.stack([(train[labels == k].sum(0) + 1) / (counts[k] + 2) for k in range(components)])
    b = CircuitBuilder([BINARY] * train.shape[1])
    leaves = [b.bernoulli(v, p=p[:, v]) for v in range(train.shape[1])]
    components_ = b.product(leaves)
    b.sum([components_], weights=(counts + 1) / (counts + 1).sum())
    return b.build()


def run(args: argparse.Namespace) -> int:
    from pcc.backends.reference import log_likelihood
    from pcc.cli.main import main as pcc_main
    from pcc.io import load_circuit, save_circuit

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, test = load_digits_binary(args.seed)
    print(f"digits: {len(train)} train / {len(test)} test images, {train.shape[1]} binary pixels")
    circuit = bernoulli_mixture(train, args.components, args.seed)
    path = out / "digits.pcc"
    save_circuit(circuit, path)
    print(f"wrote {path}")
    status = pcc_main(["check", str(path)])
    pcc_main(["info", str(path)])
    loaded = load_circuit(path)
    for name, rows in (("train", train), ("test", test)):
        ll = log_likelihood(loaded, rows)
        print(f"{name} log-likelihood: {ll.mean():.4f} nats/image "
              f"({ll.mean() / rows.shape[1] / np.log(2):.4f} bits/pixel)")
    return status
