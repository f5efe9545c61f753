"""Helpers of tests/test_distributed_*.py: start N ranks on 127.0.0.1 with the environment torchrun
gives its workers (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), and a worker that
trains tiny circuits through the Python API.

    python tests/distributed_helpers.py OUTDIR     # one rank: runs every CASE, saves parameters
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the rendezvous of one job)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(argv: list[str], world: int = 2) -> list[subprocess.Popen]:
    """Start `world` ranks of `python argv...` (one thread each, loopback only)."""
    port = free_port()
    procs = []
    for rank in range(world):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo",
                   OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
        procs.append(subprocess.Popen([sys.executable, *argv], env=env, cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return procs


def finish(procs: list[subprocess.Popen], timeout: float) -> list[tuple[int, str, str]]:
    """(exit status, stdout, stderr) of each rank; ranks still running after `timeout`
    seconds are killed and reported with status None (a hang)."""
    deadline = time.monotonic() + timeout
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            results.append((p.returncode, out, err))
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            results.append((None, out, err))  # type: ignore[arg-type]
    return results


def tiny_data(rows: int = 200, seed: int = 0) -> np.ndarray:
    """Six binary variables with dependencies and some missing values."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, rows)
    x = np.stack([a, np.where(rng.random(rows) < 0.9, a, 1 - a), rng.integers(0, 2, rows),
                  1 - a, rng.integers(0, 2, rows), a], 1).astype(np.float64)
    x[rng.random(x.shape) < 0.1] = np.nan
    return x


def tiny_model(leaf: str = "bernoulli"):  # type: ignore[no-untyped-def]
    import torch

    from pcc.backends.torch import compile
    from pcc.regions import build_circuit, linear_chain, random_binary_trees

    if leaf == "gaussian":
        circuit = build_circuit(linear_chain(4), 3, leaf="gaussian", sum_product="cp", seed=2)
    else:
        circuit = build_circuit(random_binary_trees(6, 2, 2, seed=0), 3, seed=1)
    return compile(circuit, dtype=torch.float64)


def gaussian_data(rows: int = 120) -> np.ndarray:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(rows, 4))
    x[:, 1] += 2 * x[:, 0]
    return x


def cases():  # type: ignore[no-untyped-def]
    """name -> (leaf, train, valid, config, split): `split` is where rank 0's block ends when
    the test hands each rank its own rows (sharded=True), None to pass the whole set."""
    from pcc.learn import TrainConfig

    # full batch runs in chunks of 30 rows: ranks with uneven blocks make different numbers of
    # chunks (EM sums them; DDP syncs only after each rank's last one)
    base = TrainConfig(epochs=1, batch_size=None, patience=None, progress=False,
                       eval_batch_size=30)
    data = tiny_data()
    return {
        # one full-batch EM step / Adam step, ranks given uneven blocks (70 and 130 rows)
        "em-step": ("bernoulli", data, None, base, 70),
        "adam-step": ("bernoulli", data, None, replace(base, method="adam", lr=0.05), 70),
        "em-gaussian-step": ("gaussian", gaussian_data(), None, base, None),
        # mini-batches of 3 rows: some batches fall on one rank only (the other runs a
        # zero-weight row); online EM and Adam over several epochs with validation
        "online-em": ("bernoulli", data[:60], data[150:], replace(base, epochs=2, batch_size=3),
                      None),
        "online-adam": ("bernoulli", data[:60], data[150:],
                        replace(base, method="adam", epochs=2, batch_size=3), 25),
    }


def _worker(out: Path) -> None:
    import torch

    from pcc.distributed import DistOptions, DistributedWorld, fit_distributed, setup
    from pcc.learn import fit, shard_bounds

    group = setup(timeout=60)
    for name, (leaf, train, valid, config, split) in cases().items():
        model = tiny_model(leaf)
        if split is None:  # the whole set on every rank, through fit's world
            history = fit(model, train, valid, config, DistributedWorld(group))
        else:
            bounds = [(0, split), (split, len(train))][group.rank]
            vb = shard_bounds(len(valid), group.rank, group.world) if valid is not None else None
            history = fit_distributed(model, train[bounds[0]:bounds[1]],
                                      None if vb is None else valid[vb[0]:vb[1]], config,
                                      DistOptions(sharded=True))
        grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
        torch.save({"state": model.state_dict(), "history": history, "grads": grads},
                   out / f"{name}.rank{group.rank}.pt")


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
