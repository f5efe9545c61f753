"""Benchmark inputs for tools/bench_compile.py: generated circuits, shipped circuits and their data.

Generated (always available):
- `sparse`: a PSDD-like circuit of ~155k groups, all of one unit, over a random balanced vtree:
  per vtree node a pool of sums, each over 1..6 fresh products (irregular fan-in) of one member
  of the left pool and one of the right pool.
- `pd`: a RAT-SPN / Poon-Domingos-like circuit: random balanced binary region trees, K-unit
  bernoulli leaves, each region a dense K-unit sum over the Kronecker product of its two halves
  (the fused einsum pattern), mixed by the root.
Shipped (when their readers are registered in pcc.io): plants.psdd, the MNIST .jpc, libra msweb,
and a learned SPFlow model (`spflow_shipped`).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Callable

import numpy as np

from pcc.ir import BINARY, Circuit, CircuitBuilder

# ../shared/data beside the checkout, or PCC_SHARED_DATA (a copy carried to a GPU machine)
SHARED = Path(os.environ.get("PCC_SHARED_DATA") or
              Path(__file__).resolve().parents[2] / "shared" / "data")


def random_sparse(num_vars: int = 128, groups: int = 155_000, seed: int = 0) -> Circuit:
    rng = np.random.default_rng(seed)
    b = CircuitBuilder([BINARY] * num_vars)
    internal = num_vars - 1
    per_node = max(1, groups // (internal * 2.9))  # ~4.5 groups per sum; unreached ones are pruned
    pools: list[list[int]] = []
    for v in rng.permutation(num_vars):
        pools.append([b.indicator(int(v), 0), b.indicator(int(v), 1),
                      b.bernoulli(int(v), rng.uniform(0.05, 0.95))])
    while len(pools) > 1:
        merged = []
        for i in range(0, len(pools) - 1, 2):
            left, right = pools[i], pools[i + 1]
            size = int(per_node) if len(pools) > 2 else 1
            sums = []
            for _ in range(size):
                fan = int(rng.integers(1, 7))
                kids = [b.product([left[rng.integers(len(left))], right[rng.integers(len(right))]])
                        for _ in range(fan)]
                sums.append(b.sum(kids, weights=rng.dirichlet(np.ones(fan))))
            merged.append(sums)
        if len(pools) % 2:
            merged.append(pools[-1])
        pools = merged
    return b.build(pools[0][0])


def random_pd(num_vars: int = 256, units: int = 10, repetitions: int = 4, seed: int = 0) -> Circuit:
    rng = np.random.default_rng(seed)
    b = CircuitBuilder([BINARY] * num_vars)
    tops = []
    for _ in range(repetitions):
        nodes = [b.bernoulli(int(v), rng.uniform(0.05, 0.95, units)) for v in rng.permutation(num_vars)]
        while len(nodes) > 1:
            nodes = [b.sum([b.product([nodes[i], nodes[i + 1]], mode="kronecker")],
                           weights=rng.dirichlet(np.ones(units * units), units))
                     for i in range(0, len(nodes), 2)]
        tops.append(nodes[0])
    b.sum(tops, weights=rng.dirichlet(np.ones(units * repetitions)))
    return b.build()


def _csv(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:  # type: ignore[operator]
        return np.loadtxt(f, delimiter=",")


def _mnist() -> np.ndarray:
    from pcc.data import read_idx

    images = read_idx(SHARED / "mnist" / "t10k-images-idx3-ubyte.gz")
    return (images.reshape(len(images), -1) / 255.0 > 0.5).astype(np.float64)


SHIPPED: dict[str, tuple[str, Callable[[], np.ndarray]]] = {
    "plants.psdd": ("circuits/psdd/plants.psdd",
                    lambda: _csv(SHARED / "twenty" / "plants" / "plants.test.data.gz")),
    "mnist_cats8_181.jpc": ("circuits/jpc/mnist_cats8_181.jpc", _mnist),
    "msweb-mn.ac": ("circuits/libra/msweb/msweb-mn.ac",
                    lambda: _csv(SHARED / "circuits" / "libra" / "msweb" / "msweb.test")),
}


def load_shipped(name: str) -> tuple[Circuit, np.ndarray] | str:
    """(circuit, test data), or the reason it cannot be loaded."""
    from pcc.io import load_circuit

    relative, data = SHIPPED[name]
    path = SHARED / relative
    if not path.exists():
        return f"{path} is absent"
    try:
        return load_circuit(path), data()
    except Exception as error:  # a reader not registered yet, or failing: say so, go on
        return f"cannot load: {error}"


def rows(data: np.ndarray, count: int) -> np.ndarray:
    """`count` rows, cycling through `data`."""
    return data[np.arange(count) % len(data)]


def spflow_model(num_vars: int = 64, depth: int = 8, seed: int = 0) -> object | str:
    """A random LearnSPN-like SPFlow tree (sums of 2..4 children, products of 2..3 scope parts,
    Bernoulli leaves), or the reason SPFlow is unavailable."""
    try:
        from spn.structure.Base import Product, Sum, assign_ids, rebuild_scopes_bottom_up
        from spn.structure.leaves.parametric.Parametric import Bernoulli
    except ImportError as error:
        return f"SPFlow is not installed ({error})"
    rng = np.random.default_rng(seed)

    def make(scope: list[int], level: int) -> object:
        if len(scope) == 1:
            return Bernoulli(p=float(rng.uniform(0.05, 0.95)), scope=[scope[0]])
        if level % 2 == 0 and level < depth:
            node = Sum()
            k = int(rng.integers(2, 5))
            node.children = [make(scope, level + 1) for _ in range(k)]
            node.weights = list(rng.dirichlet(np.ones(k)))
            return node
        parts = min(len(scope), int(rng.integers(2, 4)))
        labels = rng.permutation(np.arange(len(scope)) % parts)
        node = Product()
        node.children = [make([v for v, l in zip(scope, labels) if l == p], level + 1)
                         for p in range(parts)]
        return node

    root = make(list(range(num_vars)), 0)
    assign_ids(root)
    rebuild_scopes_bottom_up(root)
    return root


def spflow_shipped() -> tuple[Circuit, object, np.ndarray] | str:
    """A real SPFlow model: the learned PLANTS SPN of ../shared/data (spn-compiler's text
    format, which SPFlow's own parser does not read) given to SPFlow as the equation text that
    pcc writes for it; with the plants test data. Or the reason it is unavailable."""
    path = SHARED / "circuits" / "spflow_text" / "PLANTS_4000" / "structure.spn"
    if not path.exists():
        return f"{path} is absent"
    try:
        from spn.io.Text import str_to_spn
        from spn.structure.leaves.histogram.Text import add_histogram_text_support
        from spn.structure.leaves.parametric.Text import add_parametric_text_support
    except ImportError as error:
        return f"SPFlow is not installed ({error})"
    from pcc.frontends.spflow_writer import format_equation
    from pcc.io import load_circuit

    add_parametric_text_support()
    add_histogram_text_support()
    circuit = load_circuit(path)
    data = _csv(SHARED / "twenty" / "plants" / "plants.test.data.gz")
    return circuit, str_to_spn(format_equation(circuit)), data
