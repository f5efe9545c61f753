"""The cost model vectorize decides by: the predicted time of a circuit's blocks on an engine.

A circuit runs as the blocks of its layered plan (`pcc.layering`), each priced per batch row:

| block | priced as |
|---|---|
| `sum` (the kernel's sparse sums; merged sums holding zeros; one-hot gathers) | rows x padded fan-in x `slot` |
| `dense` (a merged sum, every weight positive: a matmul) | groups x (fan-in x (`dense_input` + K x `dense_weight`) + K x `dense_output`) |
| `kron` (an einsum over Kronecker pairs) | groups x (pairs x ((Ka + Kb) x `dense_input` + Ka Kb (K + 1) x `dense_weight`) + K x `dense_output`) |
| `product` rows that something other than a kernel sum reads | rows x fan-in x `product` |

plus `block` per block and call. `forward` prices a pass without autograd, `train` a forward with
its backward (an EM step's E-step costs about the same). The constants are nanoseconds;
`DEFAULTS` were measured by `calibrate` on the development machine (a loaded 2-core x86 box, one
thread) and keep decisions deterministic; `measured(engine)` times the synthetic blocks here
(about 10 s) and caches them in `~/.cache/pcc/vectorize_cost.json` (or `$PCC_CACHE_DIR`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from pcc.ir import Circuit


@dataclass(frozen=True)
class Costs:
    """Nanoseconds per batch row (`block`: per call) of each kind of work."""

    slot: float          # one input slot of a kernel sum
    sum_row: float       # one row (unit) of a kernel sum
    dense_input: float   # one input of one group of a dense/kron block (gathered, shifted, exp'd)
    dense_output: float  # one output unit of a dense/kron block (shifted back, log'd, checked)
    dense_weight: float  # one multiply-add of a dense/kron block
    product: float       # one child of a product row computed as a column of its own
    block: float         # one block, per call (dispatch, index set-up)
    dense_block: float   # one dense/kron block, per call, on top of `block` (its torch ops)


@dataclass(frozen=True)
class Constants:
    """`forward` and `train` (forward + backward) price a plan without einsum blocks; a plan
    with one runs the native engine's per-block fused pass instead of its tiled one-call pass,
    priced by `einsum_forward` and `einsum_train`."""

    engine: str
    forward: Costs
    train: Costs
    einsum_forward: Costs
    einsum_train: Costs
    source: str = "default"

    def costs(self, einsums: bool) -> tuple[Costs, Costs]:
        return (self.einsum_forward, self.einsum_train) if einsums else (self.forward, self.train)


# `calibrate("native")` / `calibrate("torch")` on the development machine (2 cores, load 4-6,
# OMP_NUM_THREADS=1), read off two to three runs each and rounded, by judgment where they
# disagreed (up to 3x: slot 0.65-1.9 ns forward); torch from one run. The einsum pass's
# `dense_block` in training came out 0 to 2.6 ms and is set to 0.4 ms: RAT/PD/HCLT EiNets of
# K = 2 measured 2-3x their prediction without it.
DEFAULTS = {
    "native": Constants(
        "native",
        Costs(0.66, 2.0, 15.0, 0.0, 0.04, 0.33, 1_400.0, 0.0),
        Costs(3.3, 11.0, 19.0, 5.0, 0.47, 1.6, 68_000.0, 0.0),
        Costs(1.2, 1.0, 15.0, 0.0, 0.04, 0.6, 5_500.0, 0.0),
        Costs(3.6, 6.0, 19.0, 5.0, 0.47, 1.8, 78_000.0, 400_000.0)),
    "torch": Constants(
        "torch", Costs(9.3, 1.4, 3.5, 0.0, 0.27, 4.7, 78_000.0, 0.0),
        Costs(15.5, 22.8, 22.8, 1.1, 0.55, 7.8, 425_000.0, 0.0),
        Costs(9.3, 1.4, 3.5, 0.0, 0.27, 4.7, 78_000.0, 0.0),
        Costs(15.5, 22.8, 22.8, 1.1, 0.55, 7.8, 425_000.0, 0.0)),
}


@dataclass(frozen=True)
class Prediction:
    forward_ms: float
    train_ms: float
    blocks: int

    def ratio(self, other: "Prediction") -> tuple[float, float]:
        """(forward, train) speed of `self` over `other`: above 1 when self is faster."""
        return other.forward_ms / self.forward_ms, other.train_ms / self.train_ms


def predict(circuit: Circuit, constants: Constants, batch: int = 1000) -> Prediction:
    """The predicted time of one call on `batch` rows of the compiled `circuit`."""
    from pcc.layering import layer

    plan = layer(circuit)
    work = _work(plan)
    forward, train = constants.costs(work["dense_block"] > 0)
    return Prediction(_price(work, forward, batch), _price(work, train, batch), len(plan.blocks))


def _work(plan) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The amounts the constants price: slots, dense inputs and weights, product children."""
    work = dict.fromkeys(Costs.__dataclass_fields__, 0.0)
    needed = np.zeros(plan.num_columns, dtype=bool)  # product rows read as columns
    needed[slice(*plan.root_columns)] = True
    for b in plan.blocks:
        if b.op in ("dense", "kron"):
            needed[np.asarray(b.index).ravel()] = True
            if b.index_b is not None:
                needed[np.asarray(b.index_b).ravel()] = True
    for b in plan.blocks:
        work["block"] += 1
        if b.op in ("dense", "kron"):
            work["dense_block"] += 1
        if b.op == "sum":
            work["slot"] += b.rows * b.fan_in
            work["sum_row"] += b.rows
        elif b.op == "dense":
            g = len(b.groups)
            work["dense_input"] += g * b.fan_in
            work["dense_output"] += g * b.units
            work["dense_weight"] += g * b.units * b.fan_in
        elif b.op == "kron":
            g, pairs, ka = b.index.shape
            kb = b.index_b.shape[2]
            work["dense_input"] += g * pairs * (ka + kb)
            work["dense_output"] += g * b.units
            work["dense_weight"] += g * pairs * ka * kb * (b.units + 1)
        elif b.op == "product":
            work["product"] += float(needed[b.start:b.stop].sum()) * b.fan_in
    return work


def _price(work: dict[str, float], costs: Costs, batch: int) -> float:
    per_call = ("block", "dense_block")
    per_row = sum(work[k] * getattr(costs, k) for k in work if k not in per_call)
    return (per_row * batch + sum(work[k] * getattr(costs, k) for k in per_call)) / 1e6


# -- calibration -------------------------------------------------------------------------------

def calibrate(engine: str = "native", batch: int = 512, repeats: int = 7) -> Constants:
    """The constants of `engine`, timed here on synthetic circuits, each less a circuit of its
    leaves and root alone: one-unit sums over two-leaf products at fan-in 4 and 64 (`slot`,
    `sum_row`) and a chain of one-unit sums (`block`), each without and with one small einsum
    block (the two passes); dense merged sums and einsums over Kronecker pairs of several
    sizes (`dense_input`, `dense_weight`, `dense_block`, by least squares). The fastest of
    `repeats` (on a shared machine the minimum is the least disturbed), 10-30 s."""
    import torch

    from pcc.backends.torch import compile

    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.integers(0, 2, (batch, 8)), dtype=torch.float32)

    def timed(circuit: Circuit) -> np.ndarray:
        """(forward, train) ns of one call."""
        model = compile(circuit, engine=engine, allow_invalid=True)  # type: ignore[arg-type]

        def forward() -> None:
            with torch.no_grad():
                model(x)

        def train() -> None:
            model.zero_grad(set_to_none=True)
            model(x).sum().backward()

        return np.array([_fastest(forward, repeats), _fastest(train, repeats)]) * 1e9

    sparse = []
    depth = 64
    for einsum in (False, True):
        base = timed(_chain(1, einsum))
        narrow = timed(_sparse(rng, 512, 4, 512, einsum)) - base
        wide = timed(_sparse(rng, 128, 64, 512, einsum)) - base
        chain = (timed(_chain(depth, einsum)) - base) / (2 * depth)
        # per call: t = batch * rows * (fan-in * slot + sum_row), at fan-in 4 and 64
        a, b = narrow / (512 * batch), wide / (128 * batch)
        slot = np.maximum((b - a) / 60, 0.0)
        sparse.append((slot, np.maximum(a - 4 * slot, 0.0), np.maximum(chain, 0.0)))
    # einsums: (inputs, weights, blocks) per call -> time, least squares
    shapes = [("dense", 16, 8, 512), ("dense", 128, 1, 512), ("dense", 2, 1, 4),
              ("dense", 4, 32, 16), ("kron", 4, 4, 0), ("kron", 16, 2, 0), ("kron", 2, 1, 0),
              ("kron", 2, 16, 0)]
    features, times = [], []
    for kind, k, groups, p in shapes:
        if kind == "dense":
            circuit, inputs, weights = _dense(rng, k, groups, p), groups * p, groups * k * p
        else:
            circuit, inputs, weights = _kron(rng, k, groups), groups * 2 * k, groups * k ** 3
        features.append([inputs * batch, groups * k * batch, weights * batch, 1.0])
        times.append(timed(circuit) - base)
    from scipy.optimize import nnls

    a, t = np.array(features), np.array(times)
    scale = a.max(0)  # columns of one size: nnls on raw nanoseconds is ill-conditioned
    fit = np.stack([nnls(a / scale, t[:, i])[0] / scale for i in range(2)], axis=1)
    costs = []
    for regime in range(2):
        slot, row, block = sparse[regime]
        for i in range(2):
            costs.append(Costs(float(slot[i]), float(row[i]), float(fit[0, i]),
                               float(fit[1, i]), float(fit[2, i]), float(slot[i]) / 2,
                               float(block[i]), float(fit[3, i]) if regime else 0.0))
    return Constants(engine, costs[0], costs[1], costs[2], costs[3],
                     source=f"measured {time.strftime('%Y-%m-%d')}")


PASSES = ("forward", "train", "einsum_forward", "einsum_train")


def measured(engine: str = "native", cache: Path | None = None) -> Constants:
    """`calibrate(engine)`, cached in a JSON file under the pcc cache folder."""
    folder = Path(os.environ.get("PCC_CACHE_DIR") or Path.home() / ".cache" / "pcc")
    path = cache or folder / "vectorize_cost.json"
    saved: dict = json.loads(path.read_text()) if path.exists() else {}
    if engine not in saved:
        c = calibrate(engine)
        saved[engine] = {name: asdict(getattr(c, name)) for name in PASSES}
        saved[engine]["source"] = c.source
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, indent=1) + "\n")
    entry = saved[engine]
    forward, train, einsum_forward, einsum_train = (Costs(**entry[name]) for name in PASSES)
    return Constants(engine, forward, train, einsum_forward, einsum_train, entry["source"])


def _fastest(fn: Callable[[], None], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def _einsum(b, sums: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    """`sums` and a dense sum of 2 units: the smallest einsum block (the plan then has one)."""
    pair = b.product([b.bernoulli(6, p=[0.3, 0.6]), b.bernoulli(7, p=[0.2, 0.9])])
    return sums + [b.sum([pair], [[0.5, 0.5], [0.3, 0.7]])]


def _root(b, sums: list[int], einsum: bool) -> None:  # type: ignore[no-untyped-def]
    sums = _einsum(b, sums) if einsum else sums
    width = sum(b.units(s) for s in sums)
    b.sum(sums, np.full(width, 1.0 / width))


def _sparse(rng: np.random.Generator, n: int, f: int, p: int, einsum: bool = False) -> Circuit:
    """n one-unit sums of f two-leaf products each (a PSDD's decision nodes), under a root."""
    from pcc.ir import BINARY, CircuitBuilder

    b = CircuitBuilder([BINARY] * 8)
    leaves = [[b.bernoulli(v, p=q) for q in (0.3, 0.7)] for v in range(2)]
    prods = [b.product([leaves[0][i % 2], leaves[1][(i // 2) % 2]]) for i in range(p)]
    sums = [b.sum([prods[j] for j in rng.choice(p, f, replace=False)], rng.random(f) + 0.1)
            for _ in range(n)]
    _root(b, sums, einsum)
    return b.build()


def _dense(rng: np.random.Generator, k: int, groups: int, p: int) -> Circuit:
    """`groups` dense sums of k units over one product of p units, under a root."""
    from pcc.ir import BINARY, CircuitBuilder

    b = CircuitBuilder([BINARY] * 8)
    prod = b.product([b.bernoulli(0, p=rng.random(p)), b.bernoulli(1, p=rng.random(p))])
    sums = [b.sum([prod], rng.random((k, p)) + 0.1) for _ in range(groups)]
    b.sum(sums, rng.random(groups * k) + 0.1)
    return b.build()


def _kron(rng: np.random.Generator, k: int, groups: int) -> Circuit:
    """`groups` einsums: dense sums of k units over the Kronecker pair of two k-unit inputs."""
    from pcc.ir import BINARY, CircuitBuilder

    b = CircuitBuilder([BINARY] * 8)
    sums = []
    for g in range(groups):
        pair = b.product([b.bernoulli(2 * g % 6, p=rng.random(k)),
                          b.bernoulli((2 * g + 1) % 6, p=rng.random(k))], "kronecker")
        sums.append(b.sum([pair], rng.random((k, k * k)) + 0.1))
    b.sum(sums, rng.random(groups * k) + 0.1)
    return b.build()


def _chain(depth: int, einsum: bool = False) -> Circuit:
    """A chain of one-unit sums and products `depth` levels deep: two small blocks a level."""
    from pcc.ir import BINARY, CircuitBuilder

    b = CircuitBuilder([BINARY] * 8)
    node = b.bernoulli(0, p=0.5)
    for level in range(depth):
        leaf = b.bernoulli(1 + level % 7, p=0.5)
        node = b.sum([b.product([node, leaf]), b.product([node, leaf])], [0.5, 0.5])
    _root(b, [node], einsum)
    return b.build()
