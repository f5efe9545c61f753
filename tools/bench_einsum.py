"""Dense einsum blocks (EiNet's S_k = sum_ij W_kij a_i b_j) vs `torch.bmm` on the same shapes.

    .venv/bin/python tools/bench_einsum.py [--units 32,64,128] [--batch 1000] [--repeats 5]
        [--threads 1] [--dtype float32] [--json out/bench_einsum.json]

Per K, a circuit of G pairs of K-unit Bernoulli inputs, each pair a dense K-unit sum over its
K x K Kronecker product (one `KronOp` block of G groups), mixed by a root. Timed: that block's
forward pass (`fast`, the path without autograd: max shifts, exps, one bmm per pair, the sum
over i, logs), on a buffer that holds the inputs' log-values. Its work is 2 G K^3 batch
floating-point operations (the multiply-adds of the contraction), reported as GFLOP/s next to
`torch.bmm` doing the same count: as the block's own contraction, one (G, K*K, K) x
(G, K, batch) product ("bmm"), and with the long inner axis, (G, K, K*K) x (G, K*K, batch)
("bmm, inner K*K": the shape a matmul runs fastest on), in the same process, threads, dtype. Medians of --repeats; prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import os
import sys

THREADS = next((a.split("=")[1] for a in sys.argv if a.startswith("--threads=")), "1")
for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(name, THREADS)

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pcc.backends.torch import compile  # noqa: E402
from pcc.backends.torch.einsum import KronOp  # noqa: E402
from pcc.ir import BINARY, Circuit, CircuitBuilder  # noqa: E402

FLOPS_PER_CASE = 4e9  # G is chosen so that one block pass does about this much work


def einsum_circuit(units: int, groups: int, seed: int = 0) -> Circuit:
    """`groups` dense K-unit sums over the Kronecker product of two K-unit Bernoulli inputs."""
    rng = np.random.default_rng(seed)
    b = CircuitBuilder([BINARY] * (2 * groups))
    sums = []
    for g in range(groups):
        left = b.bernoulli(2 * g, rng.uniform(0.05, 0.95, units))
        right = b.bernoulli(2 * g + 1, rng.uniform(0.05, 0.95, units))
        pair = b.product([left, right], mode="kronecker")
        sums.append(b.sum([pair], weights=rng.dirichlet(np.ones(units * units), units)))
    top = b.product(sums)
    b.sum([top], weights=rng.dirichlet(np.ones(units))[None, :])
    return b.build()


def median_time(fn, repeats: int) -> float:
    fn()  # warm up (allocations, the first kernel call)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(units: int, batch: int, dtype: torch.dtype, repeats: int) -> dict:
    groups = max(1, int(FLOPS_PER_CASE / (2 * units ** 3 * batch)))
    model = compile(einsum_circuit(units, groups), dtype=dtype)
    program = model.program
    kron = [(i, op) for i, op in enumerate(program.blocks) if isinstance(op, KronOp)]
    assert len(kron) == 1, f"expected one einsum block, got {len(kron)}"
    position, op = kron[0]
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, (batch, 2 * groups)).astype(np.float64)
    buf = torch.zeros(program.columns, batch, dtype=dtype)
    with torch.no_grad():
        xs, missing = model.domains.prepare(x, None, model.device)
        first = 2  # the constant columns come first (log 1, log 0)
        model.leaf_rows.write(xs, missing, buf[first:first + model.plan.num_inputs])
        log_w = program.expand(tuple(b.table() for b in program.blocks
                                     if b.table is not None))[position]
        out = buf[op.start:op.stop]
        block_s = median_time(lambda: op.fast(buf, out, program.scratch, log_w), repeats)
        a = torch.rand(groups, units * units, units, dtype=dtype)
        c = torch.rand(groups, units, batch, dtype=dtype)
        bmm_s = median_time(lambda: torch.bmm(a, c), repeats)
        a2 = torch.rand(groups, units, units * units, dtype=dtype)
        c2 = torch.rand(groups, units * units, batch, dtype=dtype)
        inner_s = median_time(lambda: torch.bmm(a2, c2), repeats)
    flops = 2.0 * groups * units ** 3 * batch
    return {"units": units, "groups": groups, "batch": batch, "gflop": flops / 1e9,
            "block_s": block_s, "bmm_s": bmm_s, "block_gflops": flops / block_s / 1e9,
            "bmm_gflops": flops / bmm_s / 1e9, "block_share_of_bmm": bmm_s / block_s,
            "bmm_inner_s": inner_s, "bmm_inner_gflops": flops / inner_s / 1e9,
            "block_share_of_bmm_inner": inner_s / block_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="32,64,128", type=lambda s: [int(v) for v in s.split(",")])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=int(THREADS))
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--json", default="out/bench_einsum.json")
    args = parser.parse_args([a for a in sys.argv[1:] if not a.startswith("--threads=")] +
                             [f"--threads={THREADS}"])
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.dtype}, batch {args.batch}")
    print(f"{'K':>4} {'G':>4} {'GFLOP':>6} {'block s':>9} {'bmm s':>9} {'block GF/s':>10} "
          f"{'bmm GF/s':>9} {'share':>6} {'inner GF/s':>10} {'share':>6}")
    results = []
    for units in args.units:
        r = bench(units, args.batch, dtype, args.repeats)
        results.append(r)
        print(f"{units:>4} {r['groups']:>4} {r['gflop']:>6.2f} {r['block_s']:>9.4f} "
              f"{r['bmm_s']:>9.4f} {r['block_gflops']:>10.1f} {r['bmm_gflops']:>9.1f} "
              f"{r['block_share_of_bmm']:>6.0%} {r['bmm_inner_gflops']:>10.1f} "
              f"{r['block_share_of_bmm_inner']:>6.0%}", flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"threads": args.threads, "torch": torch.__version__,
                                           "dtype": args.dtype, "results": results}, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
