"""Data-parallel training throughput with 1 and 2 processes (gloo, this machine), and the
all-reduce volume per step, measured and for the largest models of tools/bench_einet.py.

    .venv/bin/python tools/bench_distributed.py [--vars 64] [--units 8] [--rows 8192] \\
        [--batch 512] [--epochs 3] [--repeats 3] [--methods em adam] [--large] [--json out.json]

Each configuration starts fresh processes with torchrun's environment (127.0.0.1, a free port),
the same OMP_WAIT_POLICY and a set number of torch threads per process: `fit` without
torch.distributed (1 process), then `fit_distributed` with 1 and 2 processes of 1 thread, and
1 process of 2 threads (the whole machine for one process). A RAT-SPN on synthetic binary data
trains with mini-batches; throughput is training rows per second, the median over epochs after
a warm-up epoch, then the median over --repeats rounds (each round runs every configuration once,
so a change of load on the machine hits all of them alike). The payload per step is what one all-reduce sums: EM's expected counts and
sufficient statistics (float64), or Adam's gradients (the model's dtype, via DDP); a ring
all-reduce sends and receives 2 (N-1)/N of it per rank. `--large` also counts the payload of
bench_einet.py's RAT and PD circuits with K = 10 and 32 (784 variables), without training them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = [  # (label, processes, threads per process, distributed)
    ("fit, 1 process", 1, 1, False),
    ("fit_distributed, 1 process", 1, 1, True),
    ("fit_distributed, 2 processes", 2, 1, True),
    ("fit, 1 process x 2 threads", 1, 2, False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vars", type=int, default=64)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--rows", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after a warm-up)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over all configurations")
    parser.add_argument("--methods", nargs="+", default=["em", "adam"], choices=["em", "adam"])
    parser.add_argument("--large", action="store_true", help="payload of bench_einet's models")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--worker", nargs=3, metavar=("METHOD", "DISTRIBUTED", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args, args.worker[0], args.worker[1] == "1", Path(args.worker[2]))
        return
    runs: dict[tuple[str, str], list[dict]] = {}
    for repeat in range(args.repeats):  # rounds over all configurations: drift hits each alike
        for method in args.methods:
            for label, procs, threads, distributed in CONFIGS:
                result = launch(args, method, procs, threads, distributed)
                result.update(method=method, config=label, processes=procs, threads=threads)
                runs.setdefault((method, label), []).append(result)
                print(f"  round {repeat + 1}: {method:4s} {label:30s} "
                      f"{result['rows_per_s']:10.0f} rows/s", flush=True)
    rows = []
    for results in runs.values():
        row = dict(results[0])
        row["rows_per_s"] = statistics.median(r["rows_per_s"] for r in results)
        row["allreduce_s"] = statistics.median(r["allreduce_s"] for r in results)
        row["rounds"] = [r["rows_per_s"] for r in results]
        rows.append(row)
    print_table(rows)
    large = payload_of_large_models() if args.large else []
    for item in large:
        print(f"{item['model']:24s} {item['parameters']:>12,d} parameters: EM all-reduce "
              f"{item['em_bytes'] / 2**20:8.1f} MiB/step (float64), Adam "
              f"{item['adam_bytes'] / 2**20:8.1f} MiB/step (float32 gradients)")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows,
                                               "large": large}, indent=1))


def launch(args: argparse.Namespace, method: str, procs: int, threads: int,
           distributed: bool) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rank0.json"
        argv = [sys.executable, __file__, "--vars", str(args.vars), "--units", str(args.units),
                "--rows", str(args.rows), "--batch", str(args.batch),
                "--epochs", str(args.epochs), "--worker", method, str(int(distributed)),
                str(out)]
        children = []
        for rank in range(procs):
            env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(procs), LOCAL_RANK=str(rank),
                       MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo",
                       OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE",
                       CUDA_VISIBLE_DEVICES="")
            children.append(subprocess.Popen(argv, env=env, cwd=ROOT))
        for child in children:
            if child.wait() != 0:
                raise SystemExit(f"a worker failed ({method}, {procs} processes)")
        return json.loads(out.read_text())


def synthetic(rows: int, num_vars: int):  # type: ignore[no-untyped-def]
    """Binary rows with chains of dependent variables (deterministic)."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.empty((rows, num_vars))
    x[:, 0] = rng.random(rows) < 0.5
    for v in range(1, num_vars):
        x[:, v] = np.where(rng.random(rows) < 0.8, x[:, v - 1], rng.random(rows) < 0.5)
    return x


def worker(args: argparse.Namespace, method: str, distributed: bool, out: Path) -> None:
    import torch

    from pcc.backends.torch import compile
    from pcc.distributed import DistOptions, fit_distributed, setup
    from pcc.distributed.group import all_reduce_sum
    from pcc.learn import EM, TrainConfig, fit
    from pcc.regions import build_circuit, random_binary_trees

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    group = setup() if distributed else None
    depth = max(1, min(4, args.vars.bit_length() - 2))
    model = compile(build_circuit(random_binary_trees(args.vars, depth, 4, seed=0), args.units,
                                  seed=0), dtype=torch.float32)
    data = synthetic(args.rows, args.vars)
    config = TrainConfig(method=method, epochs=args.epochs + 1, batch_size=args.batch,
                         patience=None, progress=False, step_size=0.05)
    history = fit_distributed(model, data, None, config, DistOptions()) if distributed \
        else fit(model, data, None, config)
    epoch_s = statistics.median(history.seconds[1:])
    if method == "em":
        em = EM(model)
        em.accumulate(torch.as_tensor(data[:1], dtype=torch.float32))
        payload = [torch.zeros_like(t) for t in em.statistics()]
    else:
        payload = [torch.zeros_like(p) for p in model.parameters()]
    numel = sum(t.numel() for t in payload)
    comm_s = 0.0
    if group is not None and group.world > 1:
        times = []
        for _ in range(21):
            began = time.perf_counter()
            all_reduce_sum(payload)
            times.append(time.perf_counter() - began)
        comm_s = statistics.median(times[1:])
    if group is None or group.leader:
        world = group.world if group else 1
        steps = -(-args.rows // args.batch)
        out.write_text(json.dumps({
            "rows_per_s": args.rows / epoch_s, "epoch_s": epoch_s, "steps_per_epoch": steps,
            "payload_values": numel, "payload_bytes": numel * payload[0].element_size(),
            "ring_bytes_per_rank": 2 * (world - 1) / world * numel * payload[0].element_size(),
            "allreduce_s": comm_s, "train_ll": history.train[-1]}))


def print_table(rows: list[dict]) -> None:
    base = {r["method"]: r["rows_per_s"] for r in rows if r["config"] == CONFIGS[0][0]}
    print(f"\n{'method':6s} {'configuration':30s} {'rows/s':>9s} {'vs fit':>7s} "
          f"{'payload/step':>13s} {'sent/rank':>10s} {'all-reduce':>10s} {'train LL':>9s}")
    for r in rows:
        print(f"{r['method']:6s} {r['config']:30s} {r['rows_per_s']:9.0f} "
              f"{r['rows_per_s'] / base[r['method']]:6.2f}x {r['payload_bytes'] / 1024:10.1f} KiB "
              f"{r['ring_bytes_per_rank'] / 1024:6.1f} KiB {r['allreduce_s'] * 1e3:7.2f} ms "
              f"{r['train_ll']:9.3f}")


def payload_of_large_models() -> list[dict]:
    """Per-step all-reduce payload of bench_einet.py's models (compiled, one EM E-step on one
    row to see the statistics' real sizes, padding included)."""
    import torch

    from pcc.backends.torch import compile
    from pcc.learn import EM
    from pcc.regions import build_circuit, poon_domingos, random_binary_trees

    out = []
    for name, graph in (("RAT 784 d5 r10", lambda: random_binary_trees(784, 5, 10, seed=0)),
                        ("PD 28x28 delta 7", lambda: poon_domingos((28, 28), 7))):
        for k in (10, 32):
            model = compile(build_circuit(graph(), k, seed=0), dtype=torch.float32)
            em = EM(model)
            em.accumulate(torch.zeros(1, 784))
            out.append({"model": f"{name} K={k}",
                        "parameters": sum(p.numel() for p in model.parameters()),
                        "em_bytes": 8 * sum(t.numel() for t in em.statistics()),
                        "adam_bytes": 4 * sum(p.numel() for p in model.parameters())})
            print(f"  counted {out[-1]['model']}", flush=True)
    return out


if __name__ == "__main__":
    main()
