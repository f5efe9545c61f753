"""Sparse vs vectorized (by cost, the default) on the native engine: a forward pass,
forward+backward and one EM step of each form of the shipped circuits, and the round trip of
EiNets (RAT, PD, HCLT from `pcc.regions.build_circuit`) scalarized and vectorized back.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_vectorize.py [--batch 1000] [--repeats 5]
        [--circuits psdd/kdd-6k.psdd,...] [--einets rat:8,pd:16,...] [--always] [--stat min]

The forms of one row are compiled side by side and timed in turn, repeat by repeat (a shared
machine's load then falls on both alike); times are medians (`--stat min`: the fastest
repeat), float32. Ratios are speed-ups
(the first form's time over the second's: >= 1 means the second is at least as fast); the
round trip gives EiNet / vectorized and scalarized / vectorized, and whether the vectorized
circuit's layered plan is the EiNet's block for block. Both
forms compute the same values (checked here to 1e-4 in float32; the tests check 1e-9 in
float64). `--always` adds `vectorize:always` groups and fill (never timed: its merged PSDDs take
seconds per pass). Prints the load (uptime), two tables, and writes JSON (default
docs/results/vectorize_cpu.json). Circuits come from ../shared/data (or PCC_SHARED_DATA);
missing ones are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PCC_SHARED_DATA") or ROOT.parent / "shared" / "data") / "circuits"
CIRCUITS = ["psdd/kdd-6k.psdd", "psdd/nltcs.psdd", "psdd/msnbc.psdd", "psdd/tretail.psdd",
            "jpc/mnist_cats8_181.jpc", "libra/msweb/msweb.ac", "psdd/plants.psdd"]
TEST_DATA = {"libra/msweb/msweb.ac": "libra/msweb/msweb.test"}
EINETS = ["rat:4", "rat:8", "rat:16", "pd:4", "pd:8", "pd:16", "hclt:4", "hclt:8", "hclt:16"]
KINDS = ("forward", "forward_backward", "em_step")


def load() -> str:
    return os.getloadavg().__repr__() if hasattr(os, "getloadavg") else "?"


def timers(circuit, x: torch.Tensor) -> dict[str, Callable]:  # type: ignore[no-untyped-def]
    from pcc.backends.torch import compile
    from pcc.learn.em import EM

    model = compile(circuit, dtype=torch.float32, engine="native")
    em = EM(model)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def forward_backward() -> None:
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    def em_step() -> None:
        em.accumulate(x)
        em.update(step=0.05)

    return {"forward": forward, "forward_backward": forward_backward, "em_step": em_step,
            "values": lambda: model(x).detach().double().numpy()}


def side_by_side(circuits: list, x: np.ndarray, repeats: int, stat: str = "median"
                 ) -> list[dict[str, float]]:
    """Seconds (the median, or with stat "min" the fastest, of `repeats`) of each kind of call
    for each circuit, the circuits timed in turn."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    fns = [timers(c, xt) for c in circuits]
    values: list[np.ndarray] = [f["values"]() for f in fns]
    for v in values[1:]:
        finite = np.isfinite(values[0])
        assert np.array_equal(finite, np.isfinite(v))
        np.testing.assert_allclose(v[finite], values[0][finite], rtol=1e-4, atol=1e-4)
    out: list[dict[str, float]] = [{} for _ in circuits]
    for kind in KINDS:
        times: list[list[float]] = [[] for _ in circuits]
        for f in fns:
            f[kind]()  # warm-up
        for _ in range(repeats):
            for i, f in enumerate(fns):
                began = time.perf_counter()
                f[kind]()
                times[i].append(time.perf_counter() - began)
        for i in range(len(circuits)):
            out[i][kind] = statistics.median(times[i]) if stat == "median" else min(times[i])
    return out


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


def shipped(name: str, args: argparse.Namespace) -> dict | None:
    from pcc.io import load_circuit
    from pcc.transforms import Vectorize

    path = DATA / name
    if not path.exists():
        print(f"{name}: not found, skipped")
        return None
    circuit = load_circuit(path)
    began = time.perf_counter()
    wide, report = Vectorize()(circuit)
    transform_s = time.perf_counter() - began
    row: dict = {"circuit": name, "transform_s": transform_s, "report": report.to_json(),
                 "groups": len(circuit), "groups_vectorized": len(wide)}
    if args.always:
        merged, always = Vectorize(always=True)(circuit)
        row.update(groups_always=len(merged), fill_always=always.fill)
    rng = np.random.default_rng(0)
    if name in TEST_DATA:  # random rows of an AC with determinism are impossible
        x = np.loadtxt(DATA / TEST_DATA[name], delimiter=",")
    else:
        x = np.stack([rng.integers(0, d.size, 20 * args.batch) for d in circuit.domains],
                     axis=1).astype(np.float64)
    rows = possible_rows(circuit, x, args.batch, rng)
    if rows is None:
        print(f"{name}: no row of non-zero probability, skipped")
        return None
    sparse, vector = side_by_side([circuit, wide], rows, args.repeats, args.stat)
    row.update(sparse=sparse, vectorized=vector, load=load())
    print(f"{name}: {report.text()}; " + ", ".join(
        f"{k} {sparse[k] * 1e3:.1f} -> {vector[k] * 1e3:.1f} ms" for k in KINDS), flush=True)
    return row


def same_plan(a, b) -> bool:  # type: ignore[no-untyped-def]
    """Whether the layered plans of `a` and `b` have the same blocks (op, groups, rows, fan-in)."""
    from pcc.layering import layer

    def shape(circuit):  # type: ignore[no-untyped-def]
        return [(x.op, len(x.groups), x.rows, x.fan_in, x.units) for x in layer(circuit).blocks]

    return shape(a) == shape(b)


def einet(spec: str, args: argparse.Namespace) -> dict:
    from pcc.regions import build_circuit, hclt, poon_domingos, random_binary_trees
    from pcc.transforms import Scalarize, Vectorize

    kind, k = spec.split(":")
    rng = np.random.default_rng(0)
    data = rng.integers(0, 2, (500, 32)).astype(float)
    graphs = {"rat": lambda: random_binary_trees(32, 3, 2, seed=0),
              "pd": lambda: poon_domingos((6, 6), 2), "hclt": lambda: hclt(data)}
    original = build_circuit(graphs[kind](), int(k))
    scalar, _ = Scalarize()(original)
    began = time.perf_counter()
    wide, report = Vectorize()(scalar)
    transform_s = time.perf_counter() - began
    x = rng.integers(0, 2, (args.batch, original.num_vars)).astype(np.float64)
    times = side_by_side([original, scalar, wide], x, args.repeats, args.stat)
    row = {"einet": spec, "groups": [len(original), len(scalar), len(wide)],
           "recovered": len(wide) == len(original), "same_plan": same_plan(original, wide),
           "transform_s": transform_s,
           "report": report.to_json(), "original": times[0], "scalarized": times[1],
           "vectorized": times[2], "load": load()}
    print(f"{spec}: groups {len(original)} / {len(scalar)} / {len(wide)}; " + ", ".join(
        f"{k} {times[0][k] * 1e3:.1f} / {times[1][k] * 1e3:.1f} / {times[2][k] * 1e3:.1f} ms"
        for k in KINDS), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--circuits", default=",".join(CIRCUITS))
    parser.add_argument("--einets", default=",".join(EINETS))
    parser.add_argument("--always", action="store_true")
    parser.add_argument("--stat", choices=["median", "min"], default="median",
                        help="min: the fastest repeat (the least disturbed on a busy machine)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    out = Path(args.json or ROOT / "docs" / "results" / "vectorize_cpu.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    result: dict = {"engine": "native", "batch": args.batch, "threads": torch.get_num_threads(),
                    "dtype": "float32", "repeats": args.repeats, "stat": args.stat,
                    "load_before": load(),
                    "shipped": [], "round_trip": []}

    def write() -> None:  # after every row: a cut-short run keeps what it measured
        out.write_text(json.dumps(result, indent=1) + "\n")

    print(f"load before: {load()}", flush=True)
    for name in [n for n in args.circuits.split(",") if n]:
        row = shipped(name, args)
        if row is not None:
            result["shipped"].append(row)
            write()
    for spec in [s for s in args.einets.split(",") if s]:
        result["round_trip"].append(einet(spec, args))
        write()
    result["load_after"] = load()
    write()

    def ratio(a: dict, b: dict, kind: str) -> str:
        return f"{a[kind] * 1e3:.1f} -> {b[kind] * 1e3:.1f} ({a[kind] / b[kind]:.2f}x)"

    print(f"\nload before {result['load_before']}, after {result['load_after']}")
    print("\n| circuit | groups: sparse -> by cost | decision | forward ms | fwd+bwd ms "
          "| EM step ms |")
    print("|---|---|---|---|---|---|")
    for r in result["shipped"]:
        # kept: the two columns time one circuit compiled twice (the machine's noise)
        decision = "kept (same circuit)" if r["report"]["unchanged"] else "merged"
        print(f"| {r['circuit']} | {r['groups']:,} -> {r['groups_vectorized']:,} | {decision} | "
              + " | ".join(ratio(r["sparse"], r["vectorized"], k) for k in KINDS) + " |")
    print("\n| EiNet | groups: EiNet / scalarized / vectorized | plan | forward ms | fwd+bwd ms "
          "| EM step ms |")
    print("|---|---|---|---|---|---|")
    for r in result["round_trip"]:
        cells = []
        for k in KINDS:
            o, s, v = (r[f][k] * 1e3 for f in ("original", "scalarized", "vectorized"))
            cells.append(f"{o:.1f} / {s:.1f} / {v:.1f} ({o / v:.2f}x, {s / v:.2f}x)")
        g = r["groups"]
        plan = "the EiNet's" if r["same_plan"] else ("kept sparse" if g[2] == g[1] else "other")
        print(f"| {r['einet']} | {g[0]:,} / {g[1]:,} / {g[2]:,} | {plan} | " + " | ".join(cells)
              + " |")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
