"""Sparse vs vectorized: groups before/after `prune,vectorize` and the time of a forward pass,
forward+backward and one EM step of each form, compiled by pcc-torch, on the shipped circuits.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_vectorize.py [--device cuda] [--batch 1000]

Both forms compute the same values (checked here to 1e-5 in float32, and in the tests to 1e-9
in float64). Times are medians of --repeats after one warm-up; float32. Prints a table and
writes JSON (default docs/results/vectorize_<device>.json). Circuits come from ../shared/data
(or PCC_SHARED_DATA); missing ones are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PCC_SHARED_DATA") or ROOT.parent / "shared" / "data") / "circuits"
CIRCUITS = ["psdd/kdd-6k.psdd", "psdd/nltcs.psdd", "psdd/msnbc.psdd", "psdd/tretail.psdd",
            "psdd/plants.psdd", "jpc/mnist_cats8_181.jpc", "libra/msweb/msweb.ac"]
TEST_DATA = {"libra/msweb/msweb.ac": "libra/msweb/msweb.test"}


def median_time(fn, repeats: int, device: str) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        began = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(circuit, x: np.ndarray, device: str, repeats: int) -> dict:  # type: ignore[no-untyped-def]
    from pcc.backends.torch import compile
    from pcc.learn.em import EM

    began = time.perf_counter()
    model = compile(circuit, dtype=torch.float32, device=device)
    compile_s = time.perf_counter() - began
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    em = EM(model)

    def forward() -> None:
        with torch.no_grad():
            model(xt)

    def backward() -> None:
        model.zero_grad(set_to_none=True)
        model(xt).sum().backward()

    def em_step() -> None:
        em.accumulate(xt)
        em.update(step=0.05)

    with torch.no_grad():
        ll = model(xt).double().cpu().numpy()
    return {"groups": len(circuit), "units": circuit.num_units,
            "weights": int(sum(g.weights.size for g in circuit.groups if g.kind == "sum")),
            "compile_s": compile_s, "forward": median_time(forward, repeats, device),
            "forward_backward": median_time(backward, repeats, device),
            "em_step": median_time(em_step, repeats, device), "ll": ll}


def possible_rows(circuit, x: np.ndarray, batch: int,  # type: ignore[no-untyped-def]
                  rng: np.random.Generator) -> np.ndarray | None:
    """`batch` rows of `x` of non-zero probability (EM refuses impossible rows), with
    repetition where there are fewer; random rows of a circuit with determinism often are."""
    from pcc.backends.torch import compile

    with torch.no_grad():
        ll = compile(circuit, dtype=torch.float64)(x).numpy()
    ok = np.flatnonzero(np.isfinite(ll))
    if not len(ok):
        return None
    return x[rng.choice(ok, batch, replace=len(ok) < batch)]


def main() -> None:
    from pcc.io import load_circuit
    from pcc.transforms import PruneReport, VectorizeReport, apply_passes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--circuits", default=",".join(CIRCUITS))
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    rows: list[dict] = []
    out = Path(args.json or ROOT / "docs" / "results" / f"vectorize_{args.device}.json")
    out.parent.mkdir(parents=True, exist_ok=True)

    def write() -> None:  # after every circuit: a cut-short run keeps what it measured
        out.write_text(json.dumps({"device": args.device, "batch": args.batch,
                                   "threads": torch.get_num_threads(), "dtype": "float32",
                                   "rows": rows}, indent=1) + "\n")

    for name in args.circuits.split(","):
        path = DATA / name
        if not path.exists():
            print(f"{name}: not found, skipped")
            continue
        circuit = load_circuit(path)
        began = time.perf_counter()
        wide, reports = apply_passes(circuit, ["prune", "vectorize"])
        pruned, vectorized = reports
        assert isinstance(pruned, PruneReport) and isinstance(vectorized, VectorizeReport)
        transform_s = time.perf_counter() - began
        rng = np.random.default_rng(0)
        if name in TEST_DATA:  # random rows of an AC with determinism are impossible
            x = np.loadtxt(DATA / TEST_DATA[name], delimiter=",")
        else:
            x = np.stack([rng.integers(0, d.size, 20 * args.batch) for d in circuit.domains],
                         axis=1).astype(np.float64)
        possible = possible_rows(circuit, x, args.batch, rng)
        if possible is None:
            print(f"{name}: no row of non-zero probability, skipped")
            continue
        x = possible
        sparse = measure(circuit, x, args.device, args.repeats)
        vector = measure(wide, x, args.device, args.repeats)
        finite = np.isfinite(sparse["ll"])
        diff = float(np.max(np.abs(sparse["ll"][finite] - vector["ll"][finite]), initial=0.0))
        agree = bool(np.array_equal(finite, np.isfinite(vector["ll"])))
        del sparse["ll"], vector["ll"]
        row = {"circuit": name, "transform_s": transform_s, "max_abs_diff": diff,
               "same_support": agree, "fill": vectorized.fill,
               "gathers": vectorized.gathers, "pruned_groups": pruned.groups_after, "sparse": sparse, "vectorized": vector}
        rows.append(row)
        write()
        s, v = sparse, vector
        print(f"{name}: groups {s['groups']} -> {v['groups']} ({v['groups'] / s['groups']:.2f}x),"
              f" fill {100 * row['fill']:.1f}%, transform {transform_s:.1f} s; forward "
              f"{s['forward'] * 1e3:.1f} -> {v['forward'] * 1e3:.1f} ms, fwd+bwd "
              f"{s['forward_backward'] * 1e3:.1f} -> {v['forward_backward'] * 1e3:.1f} ms, EM "
              f"{s['em_step'] * 1e3:.1f} -> {v['em_step'] * 1e3:.1f} ms; |diff| {diff:.1e}",
              flush=True)
    print("\n| circuit | groups sparse -> vectorized | fill | forward ms | fwd+bwd ms | EM step ms |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        s, v = r["sparse"], r["vectorized"]
        print(f"| {r['circuit']} | {s['groups']} -> {v['groups']} | {100 * r['fill']:.1f}% | "
              f"{s['forward'] * 1e3:.1f} / {v['forward'] * 1e3:.1f} | "
              f"{s['forward_backward'] * 1e3:.1f} / {v['forward_backward'] * 1e3:.1f} | "
              f"{s['em_step'] * 1e3:.1f} / {v['em_step'] * 1e3:.1f} |")
    write()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
