"""Thread scaling of both engines: forward, forward+backward and one EM step at 1, 2 (and, where
the machine has them, 4) threads, with the default OpenMP wait policy and with PASSIVE.

    .venv/bin/python tools/bench_threads.py [--threads 1,2] [--batches 100,1000,10000]
        [--circuits kdd-6k,bc-gauss,rat,pd] [--engines native,torch]

Each (wait policy, thread count) runs in a fresh process (OpenMP reads its settings at start),
all cases side by side in that process; medians of --repeats after one warm-up, float32.
Circuits: a shipped PSDD on its twenty-dataset rows (tools/bench_train.py's cases), a LearnSPN
model of tools/spflow_learned, and RAT / PD EiNets (K = 10, Bernoulli) on random binary rows.
Prints one table (time at each thread count, and the ratio of the most threads to one) and
writes JSON (default docs/results/bench_threads_cpu.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ["kdd-6k", "bc-gauss", "rat", "pd"]


def einet(name: str):  # type: ignore[no-untyped-def]
    import numpy as np

    from pcc.regions import build_circuit, poon_domingos, random_binary_trees

    graph = random_binary_trees(64, depth=4, repetitions=10, seed=0) if name == "rat" else \
        poon_domingos((8, 8), [4])
    rows = (np.random.default_rng(0).random((10000, 64)) < 0.3).astype(np.float64)
    return build_circuit(graph, units=10, seed=0), rows


def worker(args: argparse.Namespace) -> None:
    """One process: every case at this process's thread count; JSON lines on stdout."""
    import torch

    sys.path.insert(0, str(ROOT / "tools"))
    sys.path.insert(0, str(ROOT))
    from bench_train import case, measure

    torch.set_num_threads(args.worker)
    for name in args.circuits.split(","):
        loaded = einet(name) if name in ("rat", "pd") else case(name)
        if isinstance(loaded, str):
            print(json.dumps({"circuit": name, "skipped": loaded}), flush=True)
            continue
        circuit, rows = loaded
        for batch in [int(b) for b in args.batches.split(",")]:
            for engine in args.engines.split(","):
                got = measure(circuit, rows, engine, torch.float32, batch, args.repeats)
                print(json.dumps({"circuit": name, "engine": engine, "batch": batch,
                                  "threads": args.worker, **got}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2" + (",4" if (os.cpu_count() or 1) >= 4 else ""))
    parser.add_argument("--batches", default="100,1000,10000")
    parser.add_argument("--circuits", default=",".join(CASES))
    parser.add_argument("--engines", default="native,torch")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--policies", default="default,PASSIVE")
    parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=str(ROOT / "docs" / "results" /
                                              "bench_threads_cpu.json"))
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    rows: list[dict] = []
    for policy in args.policies.split(","):
        for threads in [int(t) for t in args.threads.split(",")]:
            env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
            env["OMP_NUM_THREADS"] = str(threads)
            if policy != "default":
                env["OMP_WAIT_POLICY"] = policy
            command = [sys.executable, __file__, "--worker", str(threads), "--batches",
                       args.batches, "--circuits", args.circuits, "--engines", args.engines,
                       "--repeats", str(args.repeats)]
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            for line in done.stdout.splitlines():
                if line.startswith("{"):
                    rows.append({"policy": policy, **json.loads(line)})
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
    counts = sorted({r["threads"] for r in rows if "threads" in r})
    print(f"| policy | circuit | engine | batch | op | " +
          " | ".join(f"{t} thr ms" for t in counts) + f" | {counts[-1]} vs 1 |")
    print("|---|---|---|---|---|" + "---|" * (len(counts) + 1))
    keyed = {(r["policy"], r["circuit"], r["engine"], r["batch"], r["threads"]): r
             for r in rows if "threads" in r}
    for policy, name, engine, batch in sorted({k[:4] for k in keyed}):
        for op in ("forward", "forward_backward", "em_step"):
            times = [keyed.get((policy, name, engine, batch, t), {}).get(op) for t in counts]
            if any(t is None for t in times):
                continue
            cells = " | ".join(f"{t * 1e3:.2f}" for t in times)  # type: ignore[operator]
            print(f"| {policy} | {name} | {engine} | {batch} | {op} | {cells} | "
                  f"{times[0] / times[-1]:.2f}x |")  # type: ignore[operator]
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpus": os.cpu_count(), "load": os.getloadavg()[0],
                               "rows": rows}, indent=1) + "\n")
    print(f"wrote {out} (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
