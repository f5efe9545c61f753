"""Fixed per-call cost on small batches: `model(x)` and its data preparation alone.

    .venv/bin/python tools/bench_call.py [--circuits NIPS5,...,digits-cat] [--batch-sizes 100,1000]
        [--calls 300] [--inputs numpy,torch] [--profile NAME:BATCH] [--json out/bench_call.json]
        [--baseline OLD_TENSORS.py]

For each small circuit (spn-compiler's NIPS SPNs on rows sampled from them, the SPFlow-learned
digits models of tools/spflow_learned on their data) and batch: the median over `--calls` warm
calls of `model(x)` (no_grad, float32, 1 thread) and of `model.domains.prepare(x, None, cpu)`,
the data check and preparation that every query starts with, for float64 rows given as a
numpy array and as a torch tensor. `--baseline FILE` (another version of
pcc/data/tensors.py, e.g. `git show HEAD~1:pcc/data/tensors.py > /tmp/old.py`) times its
`DomainTable` beside the current one in the same process: `model(x)` with it swapped in, and
its `prepare` (columns "old"). `--profile NAME:BATCH` prints a cProfile of `--calls`
calls of `model(x)` (numpy rows) for that case instead. Prints a table and writes JSON.
"""

from __future__ import annotations

import os
import sys

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_circuits import rows  # noqa: E402
from bench_compile import NIPS, nips  # noqa: E402
from spflow_learned import load as load_learned  # noqa: E402

from pcc.backends.torch import compile  # noqa: E402
from pcc.ir import Circuit  # noqa: E402

DIGITS = ("digits-bern", "digits-cat")


def case(name: str) -> tuple[Circuit, np.ndarray] | str:
    """The circuit `name` and its rows, or why it is unavailable."""
    if name in NIPS:
        return nips(name)  # type: ignore[return-value]
    loaded = load_learned(name)
    if isinstance(loaded, str):
        return loaded
    from pcc.frontends.spflow_objects import from_spflow

    root, data = loaded
    return from_spflow(root), data


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Median seconds of one call of `fn`, over `calls` warm calls."""
    for _ in range(5):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", default=",".join([*NIPS, *DIGITS]))
    parser.add_argument("--batch-sizes", default="100,1000",
                        type=lambda s: [int(v) for v in s.split(",")])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--inputs", default="numpy,torch", type=lambda s: s.split(","))
    parser.add_argument("--profile", default=None)
    parser.add_argument("--json", default="out/bench_call.json")
    parser.add_argument("--baseline", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cpu = torch.device("cpu")
    if args.profile:
        import cProfile
        import pstats

        name, batch = args.profile.split(":")
        loaded = case(name)
        if isinstance(loaded, str):
            parser.error(loaded)
        circuit, data = loaded
        model = compile(circuit, dtype=torch.float32)
        sample = rows(data, int(batch))
        with torch.no_grad():
            for _ in range(5):
                model(sample)
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.calls):
                model(sample)
            profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return 0
    print(f"torch {torch.__version__}, 1 thread, float32, median of {args.calls} calls (ms)")
    old_table = None
    if args.baseline:
        import importlib.util

        spec = importlib.util.spec_from_file_location("baseline_tensors", args.baseline)
        assert spec is not None and spec.loader is not None
        baseline = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(baseline)
        old_table = baseline.DomainTable
    print(f"{'circuit':<12} {'groups':>6} {'batch':>6} {'input':>6} {'model(x)':>9} "
          f"{'prepare':>8} {'share':>6} {'old call':>9} {'old prep':>9}")
    results, skipped = [], {}
    for name in args.circuits.split(","):
        loaded = case(name)
        if isinstance(loaded, str):
            skipped[name] = loaded
            print(f"{name:<12} skipped: {loaded}")
            continue
        circuit, data = loaded
        model = compile(circuit, dtype=torch.float32)
        for batch in args.batch_sizes:
            x_np = np.ascontiguousarray(rows(data, batch), dtype=np.float64)
            for kind in args.inputs:
                x: object = x_np if kind == "numpy" else torch.from_numpy(x_np.copy())
                entry = {"circuit": name, "groups": len(circuit), "batch": batch, "input": kind}
                tables = {"": model.domains}
                if old_table is not None:
                    tables["old_"] = old_table(circuit.domains)
                with torch.no_grad():
                    for prefix, table in tables.items():
                        model.domains = table
                        entry[f"{prefix}call_s"] = per_call(lambda: model(x), args.calls)
                        entry[f"{prefix}prepare_s"] = per_call(
                            lambda: table.prepare(x, None, cpu), args.calls)
                model.domains = tables[""]
                results.append(entry)
                old = (f" {entry['old_call_s'] * 1e3:>9.3f} {entry['old_prepare_s'] * 1e3:>9.3f}"
                       if old_table is not None else "")
                print(f"{name:<12} {len(circuit):>6} {batch:>6} {kind:>6} "
                      f"{entry['call_s'] * 1e3:>9.3f} {entry['prepare_s'] * 1e3:>8.3f} "
                      f"{entry['prepare_s'] / entry['call_s']:>6.0%}{old}", flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"torch": torch.__version__, "calls": args.calls,
                                           "results": results, "skipped": skipped}, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
