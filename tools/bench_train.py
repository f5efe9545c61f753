"""Training costs on both engines: forward, forward+backward and one EM step, as ratios to the
forward, and one full-batch EM epoch against evaluating the same rows.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_train.py [--batches 100,1000,10000]
        [--engines native,torch] [--dtypes float32,float64] [--circuits kdd-6k,nltcs,...]
        [--device cuda]     # the torch engine on a GPU (tools/gpu_check.sh)

Circuits: the shipped PSDDs (../shared/data/circuits/psdd, on their twenty-dataset training
rows), the LearnSPN models of tools/spflow_learned (on their data), the MNIST .jpc (random
rows) and an HCLT (K = 16, nltcs). Each case is measured on one compiled model per engine
and dtype, engines side by side in one run: medians of --repeats after one warm-up. "epoch"
is one full-batch EM epoch over the training rows (E-steps over chunks of --epoch-chunk rows,
one M-step) against evaluating those rows (float32). Prints a table and writes JSON (default
docs/results/bench_train_cpu.json). Missing circuits or data are skipped with a line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pcc.ir import Circuit

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PCC_SHARED_DATA") or ROOT.parent / "shared" / "data")
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

PSDDS = {"kdd-6k": "kdd", "nltcs": "nltcs", "msnbc": "msnbc", "plants": "plants",
         "tretail": "tretail"}
LEARNED = ("bc-gauss", "digits-bern")
CASES = [*PSDDS, *LEARNED, "mnist-jpc", "hclt-nltcs"]


def twenty(name: str, split: str) -> np.ndarray | None:
    path = SHARED / "twenty" / name / f"{name}.{split}.data.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rt") as f:
        return np.loadtxt(f, delimiter=",", dtype=np.float64)


def case(name: str):  # type: ignore[no-untyped-def]
    """(circuit, rows) of a case, or the reason it is unavailable."""
    from pcc.io import load_circuit

    if name in PSDDS:
        path = SHARED / "circuits" / "psdd" / f"{name}.psdd"
        rows = twenty(PSDDS[name], "train")
        if not path.exists() or rows is None:
            return f"{path} or its data is absent"
        return load_circuit(path), rows
    if name in LEARNED:
        from spflow_learned import load

        from pcc.frontends.spflow_objects import from_spflow

        loaded = load(name)
        if isinstance(loaded, str):
            return loaded
        root, rows = loaded
        return from_spflow(root), rows
    if name == "mnist-jpc":
        path = SHARED / "circuits" / "jpc" / "mnist_cats8_181.jpc"
        if not path.exists():
            return f"{path} is absent"
        circuit = load_circuit(path)
        rng = np.random.default_rng(0)
        rows = np.stack([rng.integers(0, d.size or 2, 2000) for d in circuit.domains], 1)
        return circuit, rows.astype(np.float64)
    if name == "hclt-nltcs":
        from pcc.regions import build_circuit, hclt

        rows = twenty("nltcs", "train")
        if rows is None:
            return "nltcs data is absent"
        return build_circuit(hclt(rows), units=16, seed=0), rows
    return f"unknown case {name}"


DEVICE = "cpu"  # --device


def median(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        if DEVICE != "cpu":
            torch.cuda.synchronize()
        began = time.perf_counter()
        fn()
        if DEVICE != "cpu":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def batch_of(rows: np.ndarray, batch: int) -> np.ndarray:
    return rows[np.arange(batch) % len(rows)]


def measure(circuit: Circuit, rows: np.ndarray, engine: str, dtype: torch.dtype,
            batch: int, repeats: int) -> dict:
    from pcc.backends.torch import compile
    from pcc.learn.em import EM

    model = compile(circuit, dtype=dtype, engine=engine, device=DEVICE)  # type: ignore[arg-type]
    x = torch.as_tensor(batch_of(rows, batch), dtype=dtype, device=DEVICE)
    em = EM(model, prior=1.0)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def backward() -> None:
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    def em_step() -> None:
        em.accumulate(x)
        em.update(step=1.0)

    out = {"forward": median(forward, repeats)}
    out["forward_backward"] = median(backward, repeats)
    try:
        out["em_step"] = median(em_step, repeats)
    except (ValueError, FloatingPointError) as error:  # a family EM cannot train
        out["em_step"] = None
        out["em_error"] = str(error)
    return out


def epoch(circuit: Circuit, rows: np.ndarray, engine: str, chunk: int) -> dict:
    """One full-batch EM epoch over `rows` against evaluating them (float32)."""
    from pcc.backends.torch import compile
    from pcc.learn.em import EM

    model = compile(circuit, dtype=torch.float32, engine=engine,  # type: ignore[arg-type]
                    device=DEVICE)
    x = torch.as_tensor(rows, dtype=torch.float32, device=DEVICE)
    em = EM(model, prior=1.0)

    def evaluate() -> None:
        with torch.no_grad():
            model(x)

    def full_batch() -> None:
        for start in range(0, len(x), chunk):
            em.accumulate(x[start:start + chunk])
        em.update(step=1.0)

    return {"rows": len(rows), "evaluate": median(evaluate, 3), "em_epoch": median(full_batch, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cuda: the torch engine on the GPU")
    parser.add_argument("--circuits", default=",".join(CASES))
    parser.add_argument("--engines", default="native,torch")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--batches", default="100,1000,10000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epoch-chunk", type=int, default=1000)
    parser.add_argument("--json", default=str(ROOT / "docs" / "results" / "bench_train_cpu.json"))
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    if DEVICE != "cpu":
        args.engines = "torch"  # the native engine runs on the CPU only
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    engines, dtypes = args.engines.split(","), args.dtypes.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    results: list[dict] = []
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)

    def write() -> None:  # after every case: a run cut short keeps what it measured
        out.write_text(json.dumps({"device": DEVICE, "threads": torch.get_num_threads(),
                                   "load": os.getloadavg()[0], "rows": results}, indent=1) + "\n")

    print("| circuit | engine | dtype | batch | forward ms | fwd+bwd / fwd | EM step / fwd |")
    print("|---|---|---|---|---|---|---|")
    for name in args.circuits.split(","):
        loaded = case(name)
        if isinstance(loaded, str):
            print(f"{name}: skipped ({loaded})")
            continue
        circuit, rows = loaded
        for batch in batches:
            for dtype_name in dtypes:
                for engine in engines:
                    got = measure(circuit, rows, engine, getattr(torch, dtype_name), batch,
                                  args.repeats)
                    results.append({"circuit": name, "groups": len(circuit), "engine": engine,
                                    "dtype": dtype_name, "batch": batch, **got})
                    f, fb, em = got["forward"], got["forward_backward"], got["em_step"]
                    print(f"| {name} | {engine} | {dtype_name} | {batch} | {f * 1e3:.2f} | "
                          f"{fb / f:.1f}x | {'-' if em is None else f'{em / f:.1f}x'} |",
                          flush=True)
                    write()
        if name in PSDDS:
            for engine in engines:
                got = epoch(circuit, rows, engine, args.epoch_chunk)
                results.append({"circuit": name, "engine": engine, "epoch": got})
                print(f"| {name} | {engine} | float32 | epoch of {got['rows']} rows | "
                      f"evaluate {got['evaluate']:.3f} s | full-batch EM "
                      f"{got['em_epoch']:.3f} s = {got['em_epoch'] / got['evaluate']:.1f}x |",
                      flush=True)
                write()
    write()
    print(f"wrote {out} (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
