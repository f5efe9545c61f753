"""MPE and sampling on the MNIST .jpc circuit: time and peak memory, pcc-torch vs the reference.

    .venv/bin/python tools/bench_queries.py [--rows 10000] [--samples 10000] [--repeats 3]
        [--threads 1] [--reference-batch 500] [--dtype float32] [--device cpu]
        [--json out/bench_queries.json]

MPE completes the first `--rows` MNIST test images (binarized as pixel/255 > 0.5, the circuit's
training recipe) whose bottom half is missing; sampling draws `--samples` unconditional images.
Each (backend, query) runs in a fresh subprocess with the same thread settings (torch threads,
OMP/MKL threads, OMP_WAIT_POLICY=PASSIVE), so peak memory is the largest rise of that process's
resident set over its value after loading (sampled every 2 ms, first run). Torch times are
medians of `--repeats` runs; the reference runs once, in batches of `--reference-batch` rows
(it keeps rows x units float64 values per batch). The table also checks the two sides agree:
max |difference| of the MPE values, the share of identical MPE states, and the mean
log-likelihood of each side's samples (two samples of the same distribution).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CIRCUIT = DATA / "circuits" / "jpc" / "mnist_cats8_181.jpc"
MNIST = DATA / "mnist"


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rise(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(seconds, largest rise of the resident set in MiB, result) of one call of `fn`."""
    base, peak, done = rss(), [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    done.set()
    thread.join()
    return seconds, max(peak[0], rss()) - base, result


def child(args: argparse.Namespace) -> None:
    """One (backend, query) measurement; prints a JSON line."""
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    from pcc.backends.reference import log_likelihood
    from pcc.io import load_circuit
    from pcc.data import load_mnist

    torch.set_num_threads(args.threads)
    circuit = load_circuit(CIRCUIT)
    images, _ = load_mnist(MNIST, "test")
    x = (images[:args.rows] / 255 > 0.5).astype(np.float64)
    x[:, x.shape[1] // 2:] = np.nan
    backend, query = args.child.split("-")
    if backend == "torch":
        from pcc.backends.torch import compile
        from pcc.backends.torch.mpe import mpe
        from pcc.backends.torch.sample import sample

        model = compile(circuit, dtype=getattr(torch, args.dtype), device=args.device)

        def run() -> object:
            if query == "mpe":
                r = mpe(model, x)
                return r.states.cpu().numpy(), r.values.double().cpu().numpy()
            return sample(model, num_samples=args.samples, generator=0).cpu().numpy()
        repeats = args.repeats
    else:
        from pcc.backends.reference.queries import mpe as ref_mpe
        from pcc.backends.reference.queries import sample as ref_sample

        def run() -> object:
            step, rng = args.reference_batch, np.random.default_rng(0)
            if query == "mpe":
                parts = [ref_mpe(circuit, x[i:i + step]) for i in range(0, len(x), step)]
                return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
            empty = np.full((args.samples, circuit.num_vars), np.nan)
            return np.concatenate([ref_sample(circuit, empty[i:i + step], rng)
                                   for i in range(0, len(empty), step)])
        repeats = 1
    seconds, peak, result = peak_rise(run)
    times = [seconds] + [peak_rise(run)[0] for _ in range(repeats - 1)]
    out: dict[str, object] = {"case": args.child, "seconds": statistics.median(times),
                              "times": times, "peak_mib": peak / 2**20}
    stem = Path(args.scratch) / args.child
    if query == "mpe":
        np.save(f"{stem}.states.npy", result[0])  # type: ignore[index]
        np.save(f"{stem}.values.npy", result[1])  # type: ignore[index]
    else:
        draws = result
        out["mean_ll_of_samples"] = float(log_likelihood(circuit, draws).mean())  # type: ignore[arg-type]
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reference-batch", type=int, default=500)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not CIRCUIT.exists() or not MNIST.is_dir():
        sys.exit(f"bench_queries: needs {CIRCUIT} and {MNIST}")
    import tempfile

    import numpy as np

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for case in ("torch-mpe", "reference-mpe", "torch-sample", "reference-sample"):
            argv = [sys.executable, __file__, "--child", case, "--scratch", scratch] + \
                   [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
                    if k not in ("child", "scratch", "json") and v is not None]
            done = subprocess.run(argv, check=False, env=env, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"bench_queries: {case} failed:\n{done.stderr}")
            results[case] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  {case}: {results[case]['seconds']:.2f} s", file=sys.stderr)
        tv = np.load(f"{scratch}/torch-mpe.values.npy")
        rv = np.load(f"{scratch}/reference-mpe.values.npy")
        ts = np.load(f"{scratch}/torch-mpe.states.npy")
        rs = np.load(f"{scratch}/reference-mpe.states.npy")
    agreement = {"mpe_max_abs_value_diff": float(np.max(np.abs(tv - rv))),
                 "mpe_identical_states": float(np.all(ts == rs, axis=1).mean())}
    print(f"MNIST .jpc ({CIRCUIT.name}); {args.rows} MPE rows (bottom half missing), "
          f"{args.samples} samples; torch {args.dtype} on {args.device}, {args.threads} thread(s)")
    print(f"{'query':<8} {'torch s':>9} {'ref s':>9} {'speed-up':>9} {'torch MiB':>10} "
          f"{'ref MiB':>9}")
    for query in ("mpe", "sample"):
        t, r = results[f"torch-{query}"], results[f"reference-{query}"]
        print(f"{query:<8} {t['seconds']:>9.2f} {r['seconds']:>9.2f} "
              f"{r['seconds'] / t['seconds']:>8.1f}x {t['peak_mib']:>10.0f} {r['peak_mib']:>9.0f}")
    print(f"MPE: max |value diff| {agreement['mpe_max_abs_value_diff']:.2e}, identical states "
          f"{agreement['mpe_identical_states']:.1%}; mean log-likelihood of samples: torch "
          f"{results['torch-sample']['mean_ll_of_samples']:.2f}, reference "
          f"{results['reference-sample']['mean_ll_of_samples']:.2f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"settings": {k: v for k, v in vars(args).items()
                                                            if k not in ("child", "scratch")},
                                               "results": results, "agreement": agreement},
                                              indent=1))


if __name__ == "__main__":
    main()
