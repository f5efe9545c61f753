"""Scale benchmark: build, verify, analyze, save and load a circuit of ~10^5 groups / ~10^6 units.

    .venv/bin/python tools/bench_scale.py [--vars 1000] [--repetitions 33] [--units 10] [--json out.json]

The circuit is a RAT-SPN-like mixture of random binary trees with hadamard products and dense
sums of K units (a CP EiNet): per repetition, one input group per variable and one product and
one sum per inner node. Prints a table of median times and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from pcc.io import load_pcc, save_pcc
from pcc.ir import BINARY, Circuit, CircuitBuilder


def random_tree_circuit(num_vars: int, repetitions: int, units: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    b = CircuitBuilder([BINARY] * num_vars)
    tops = []
    for _ in range(repetitions):
        nodes = [b.bernoulli(v, p=rng.uniform(0.05, 0.95, units)) for v in rng.permutation(num_vars)]
        while len(nodes) > 1:
            merged = []
            for i in range(0, len(nodes) - 1, 2):
                product = b.product([nodes[i], nodes[i + 1]])
                merged.append(b.sum([product], weights=rng.dirichlet(np.ones(units), units)))
            if len(nodes) % 2:
                merged.append(nodes[-1])
            nodes = merged
        tops.append(nodes[0])
    b.sum(tops, weights=rng.dirichlet(np.ones(units * repetitions)))
    return b.build()


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vars", type=int, default=1000)
    parser.add_argument("--repetitions", type=int, default=33)
    parser.add_argument("--units", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default="out/bench_scale.json")
    args = parser.parse_args()

    rows: dict[str, float] = {}
    rows["build (builder + verify)"], circuit = timed(
        lambda: random_tree_circuit(args.vars, args.repetitions, args.units, 0), args.repeats)
    rows["verify"], _ = timed(circuit.verify, args.repeats)
    rows["scopes"], _ = timed(lambda: Circuit.scope_masks.func(circuit), args.repeats)
    try:
        from pcc.analysis import check  # type: ignore[attr-defined]

        rows["analyses (check)"], _ = timed(lambda: check(circuit), args.repeats)
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.pcc"
        rows["save .pcc"], _ = timed(lambda: save_pcc(circuit, path), args.repeats)
        size = path.stat().st_size
        rows["load .pcc"], _ = timed(lambda: load_pcc(path), args.repeats)
    print(f"circuit: {len(circuit)} groups, {circuit.num_units} units, "
          f"{args.vars} variables; .pcc file {size / 1e6:.1f} MB")
    print(f"{'step':<28}{'median s':>10}")
    for name, seconds in rows.items():
        print(f"{name:<28}{seconds:>10.3f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({
        "groups": len(circuit), "units": circuit.num_units, "file_bytes": size,
        "median_seconds": rows}, indent=1))


if __name__ == "__main__":
    main()
