"""Compile time, throughput and peak memory: pcc-torch vs the reference interpreter (and SPFlow).

    .venv/bin/python tools/bench_compile.py [--circuits sparse,pd,plants.psdd,...]
        [--batch-sizes 1,100,1000,10000] [--repeats 3] [--threads 1] [--reference-max-batch 1000]
        [--spflow-max-batch 10000] [--dtypes float32,float64] [--device cpu|cuda]
        [--reference-repeats N]
        [--json out/bench_compile.json]

Both sides run in this one process with the same thread settings (torch threads, OMP/MKL
threads, OMP_WAIT_POLICY=PASSIVE, set before torch is imported). Times are medians over
`--repeats` warm runs, on both sides (the reference takes seconds at batch 1000). Peak
memory is the largest rise of the bytes malloc has allocated (glibc's mallinfo2; else the
resident set) over their value before a run, sampled every 2 ms, on the first (cold) run of a
fresh model. pcc-torch runs under `torch.no_grad()` in each of `--dtypes` (the first one is
"torch_s"; float64 adds "torch_float64_s" and its ratios); "max |diff|" compares its
log-likelihoods to the reference's on the first rows. The SPFlow cases (SPFlow 0.0.48's
`log_likelihood` on the same rows): a generated tree, the learned PLANTS SPN, and the
LearnSPN models of tools/spflow_learned.py (Gaussian, mixed, Bernoulli and categorical
leaves); spn-compiler's NIPS SPNs (histograms with uneven breaks) run on rows sampled from them.
`--circuits psdd-zoo` runs every UCLA Circuit-Model-Zoo PSDD of the twenty data sets that the
shared data ship (PSDD_ZOO: kdd-6k, msnbc and msnbc-yitao-a..e, nltcs, nltcs.clt,
nltcs.10split, plants, tretail) on its data set's test rows; the zoo's other twenty-data-set
PSDDs (ad, c20ng, book, bnetflix, accidents, ...) are not shipped and are listed as skipped. The
reference at batch 10,000 takes tens of seconds on the large ones: `--reference-repeats 1` times
its one (memory-sampled) run. With `--device cuda` pcc-torch runs on the GPU (the time includes
copying the rows there and the results back; its peak memory is the rise of torch's CUDA
allocator peak) and the reference on the CPU. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys

THREADS = next((a.split("=")[1] for a in sys.argv if a.startswith("--threads=")), "1")
for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(name, THREADS)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_circuits import (  # noqa: E402
    SHARED, SHIPPED, load_shipped, random_pd, random_sparse, rows, spflow_model, spflow_shipped)
from spflow_learned import MODELS as LEARNED  # noqa: E402
from spflow_learned import load as load_learned  # noqa: E402

from pcc.backends.reference import log_likelihood  # noqa: E402
from pcc.backends.torch import compile  # noqa: E402
from pcc.ir import Circuit  # noqa: E402


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _allocated_bytes() -> Callable[[], int]:
    """Bytes malloc has handed out and not taken back (glibc's mallinfo2: heap in use plus
    mmap'ed blocks), which numpy and torch's CPU tensors both come from; else the resident set.
    Allocated bytes see a buffer that reuses memory freed earlier; the resident set does not."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        libc.mallinfo2()
        return lambda: (lambda m: m.uordblks + m.hblkhd)(libc.mallinfo2())
    except (OSError, AttributeError):
        page = os.sysconf("SC_PAGE_SIZE")

        def rss() -> int:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * page
        return rss


ALLOCATED = _allocated_bytes()


def peak_rss_delta(fn: Callable[[], object]) -> tuple[float, object]:
    """(largest rise of the allocated memory in MiB while `fn` runs, sampled every 2 ms, its
    result)."""
    base, peak, done = ALLOCATED(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], ALLOCATED())
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        result = fn()
    finally:
        done.set()
        thread.join()
    peak[0] = max(peak[0], ALLOCATED())
    return (peak[0] - base) / 2**20, result


def peak_cuda_delta(fn: Callable[[], object]) -> tuple[float, object]:
    """(largest rise of torch's CUDA memory in MiB while `fn` runs, its result)."""
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    result = fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20, result


def median_time(fn: Callable[[], object], repeats: int, times: list[float] | None = None
                ) -> float:
    """Median wall time of `repeats` runs of `fn`, besides the `times` already taken."""
    times = list(times or [])
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _pcc_run(circuit, x: np.ndarray, dtype: torch.dtype, args, entry: dict, suffix: str) -> None:
    """Peak memory (first call of a fresh model) and median time of pcc-torch in `dtype`."""
    fresh = compile(circuit, dtype=dtype, device=args.device)
    run = lambda: fresh(x).cpu()  # noqa: E731  (on CUDA: waits for the result)
    peak = peak_cuda_delta if args.device == "cuda" else peak_rss_delta
    with torch.no_grad():
        entry[f"torch{suffix}_peak_mib"], _ = peak(run)
        entry[f"torch{suffix}_s"] = median_time(run, args.repeats)


def bench_one(name: str, circuit, data: np.ndarray, args, spflow_root=None) -> dict:
    record: dict = {"circuit": name, "groups": len(circuit), "units": circuit.num_units}
    device = args.device
    record["compile_s"] = median_time(lambda: compile(circuit, device=device), args.repeats)
    model = compile(circuit, device=device)
    probe = rows(data, 50)
    with torch.no_grad():
        got = model(probe).cpu().numpy()
    want = log_likelihood(circuit, probe)
    finite = np.isfinite(want)
    record["max_abs_diff"] = float(np.abs(got[finite] - want[finite]).max(initial=0.0))
    record["same_minus_inf"] = bool(np.array_equal(np.isneginf(got), np.isneginf(want)))
    record["plan_blocks"] = len(model.plan.blocks)
    record["batches"] = []
    for batch in args.batch_sizes:
        x = rows(data, batch)
        entry: dict = {"batch": batch}
        for k, dtype_name in enumerate(args.dtypes):
            _pcc_run(circuit, x, DTYPES[dtype_name], args, entry, "" if k == 0 else
                     f"_{dtype_name}")
        entry["torch_rows_per_s"] = batch / entry["torch_s"]
        others = [f"_{d}" for d in args.dtypes[1:]]
        if batch <= args.reference_max_batch:
            # the memory-sampled run is timed too and counts as one of the reference's repeats
            start = time.perf_counter()
            entry["reference_peak_mib"], _ = peak_rss_delta(lambda: log_likelihood(circuit, x))
            first = time.perf_counter() - start
            entry["reference_s"] = median_time(lambda: log_likelihood(circuit, x),
                                               args.reference_repeats - 1, [first])
            entry["speedup_vs_reference"] = entry["reference_s"] / entry["torch_s"]
            for suffix in others:
                entry[f"speedup{suffix}_vs_reference"] = (entry["reference_s"] /
                                                          entry[f"torch{suffix}_s"])
        if spflow_root is not None and batch <= args.spflow_max_batch:
            from spn.algorithms.Inference import log_likelihood as spflow_ll

            entry["spflow_peak_mib"], _ = peak_rss_delta(lambda: spflow_ll(spflow_root, x))
            entry["spflow_s"] = median_time(lambda: spflow_ll(spflow_root, x), args.repeats)
            entry["speedup_vs_spflow"] = entry["spflow_s"] / entry["torch_s"]
            for suffix in others:
                entry[f"speedup{suffix}_vs_spflow"] = entry["spflow_s"] / entry[f"torch{suffix}_s"]
        record["batches"].append(entry)
        print(row(record, entry), flush=True)
    return record


NIPS = ("NIPS5", "NIPS10", "NIPS20", "NIPS30")

# The zoo's twenty-data-set PSDDs in the shared data -> the data set whose test rows they read.
PSDD_ZOO = {"kdd-6k.psdd": "kdd", "msnbc.psdd": "msnbc",
            **{f"msnbc-yitao-{c}.psdd": "msnbc" for c in "abcde"},
            "nltcs.psdd": "nltcs", "nltcs.clt.psdd": "nltcs", "nltcs.10split.psdd": "nltcs",
            "plants.psdd": "plants", "tretail.psdd": "tretail"}
# The other twenty data sets: no PSDD of theirs is in the shared data (the zoo has PSDDs for 17
# of the twenty; see circuits/SOURCE.md), so they cannot be measured here.
PSDD_NOT_SHIPPED = ("accidents", "ad", "baudio", "bbc", "bnetflix", "book", "c20ng", "cr52",
                    "cwebkb", "dna", "jester", "kosarek", "msweb", "pumsb_star", "tmovie")


def psdd(name: str) -> tuple[Circuit, np.ndarray] | str:
    """The shipped zoo PSDD `name` and its data set's test rows, or why they are unavailable."""
    path = SHARED / "circuits" / "psdd" / name
    data = SHARED / "twenty" / PSDD_ZOO[name] / f"{PSDD_ZOO[name]}.test.data.gz"
    for needed in (path, data):
        if not needed.exists():
            return f"{needed} is absent"
    from pcc.io import load_circuit

    return load_circuit(path), np.loadtxt(data, delimiter=",")


def nips(name: str) -> tuple[object, np.ndarray] | str:
    """spn-compiler's NIPS SPN `name` and 10,000 rows sampled from it (seed 0; its data are
    not shipped), or the reason it is unavailable."""
    path = SHARED / "circuits" / "spflow_text" / name / "structure.spn"
    if not path.exists():
        return f"{path} is absent"
    from pcc.backends.torch.sample import sample
    from pcc.io import load_circuit

    circuit = load_circuit(path)
    drawn = sample(compile(circuit, dtype=torch.float64), num_samples=10_000, generator=0)
    return circuit, np.asarray(getattr(drawn, "states", drawn), dtype=np.float64)


HEADER = (f"{'circuit':<20} {'groups':>7} {'compile':>8} {'batch':>6} {'torch s':>9} "
          f"{'rows/s':>10} {'mem MiB':>8} {'ref s':>8} {'x ref':>7} {'ref MiB':>8} "
          f"{'spflow s':>8} {'x spflow':>8} {'f64 s':>9} {'f64 x':>7}")


def row(record: dict, e: dict) -> str:
    def f(key: str, fmt: str) -> str:
        return format(e[key], fmt) if key in e else "-"

    f64_ratio = f("speedup_float64_vs_spflow" if "spflow_s" in e else
                  "speedup_float64_vs_reference", "7.1f")
    return (f"{record['circuit']:<20} {record['groups']:>7} {record['compile_s']:>7.2f}s "
            f"{e['batch']:>6} {e['torch_s']:>9.4f} {e['torch_rows_per_s']:>10.0f} "
            f"{e['torch_peak_mib']:>8.1f} {f('reference_s', '8.3f'):>8} "
            f"{f('speedup_vs_reference', '7.1f'):>7} {f('reference_peak_mib', '8.1f'):>8} "
            f"{f('spflow_s', '8.3f'):>8} {f('speedup_vs_spflow', '8.1f'):>8} "
            f"{f('torch_float64_s', '9.4f'):>9} {f64_ratio:>7}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", default=",".join(["sparse", "pd", "spflow", "spflow-plants",
                                                          *LEARNED, *NIPS, *SHIPPED]))
    parser.add_argument("--batch-sizes", default="1,100,1000,10000",
                        type=lambda s: [int(v) for v in s.split(",")])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=int(THREADS))
    parser.add_argument("--reference-max-batch", type=int, default=1000)
    parser.add_argument("--reference-repeats", type=int, default=None,
                        help="runs of the reference per batch (default: --repeats)")
    parser.add_argument("--spflow-max-batch", type=int, default=10_000)
    parser.add_argument("--dtypes", default="float32,float64", type=lambda s: s.split(","))
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--json", default="out/bench_compile.json")
    args = parser.parse_args([a for a in sys.argv[1:] if not a.startswith("--threads=")] +
                             [f"--threads={THREADS}"])
    args.reference_repeats = max(1, args.reference_repeats or args.repeats)
    known = ["sparse", "pd", "spflow", "spflow-plants", *LEARNED, *NIPS, *SHIPPED, *PSDD_ZOO]
    names = [n for name in args.circuits.split(",")
             for n in (PSDD_ZOO if name == "psdd-zoo" else [name])]
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error(f"unknown circuit {', '.join(unknown)}; known: {', '.join(known)}, "
                     "psdd-zoo")
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    results, skipped = [], {}
    print(f"torch {torch.__version__}, {args.threads} thread(s), OMP_WAIT_POLICY="
          f"{os.environ['OMP_WAIT_POLICY']}, {'/'.join(args.dtypes)}, pcc-torch on "
          f"{torch.cuda.get_device_name() if args.device == 'cuda' else 'the CPU'}")
    print(HEADER)
    if "psdd-zoo" in args.circuits.split(","):
        for data_set in PSDD_NOT_SHIPPED:
            skipped[f"{data_set}.psdd"] = "no PSDD of this data set in the shared data"
        print(f"{'psdd-zoo':<20} no PSDD shipped, not measured: {', '.join(PSDD_NOT_SHIPPED)}")
    for name in names:
        spflow_root = None
        if name == "sparse":
            circuit = random_sparse()
            data = rng.integers(0, 2, (10_000, circuit.num_vars)).astype(float)
        elif name == "pd":
            circuit = random_pd()
            data = rng.integers(0, 2, (10_000, circuit.num_vars)).astype(float)
        elif name == "spflow":
            spflow_root = spflow_model()
            if isinstance(spflow_root, str):
                skipped[name] = spflow_root
                continue
            from pcc.frontends.spflow_objects import from_spflow

            circuit = from_spflow(spflow_root)
            data = rng.integers(0, 2, (10_000, circuit.num_vars)).astype(float)
        elif name in LEARNED or name in NIPS:
            loaded = load_learned(name) if name in LEARNED else nips(name)
            if isinstance(loaded, str):
                skipped[name] = loaded
                print(f"{name:<20} skipped: {loaded}")
                continue
            if name in LEARNED:
                from pcc.frontends.spflow_objects import from_spflow

                spflow_root, data = loaded
                circuit = from_spflow(spflow_root)
            else:
                circuit, data = loaded  # type: ignore[misc, assignment]
        elif name in PSDD_ZOO and name not in SHIPPED:
            loaded = psdd(name)
            if isinstance(loaded, str):
                skipped[name] = loaded
                print(f"{name:<20} skipped: {loaded}")
                continue
            circuit, data = loaded
        elif name == "spflow-plants":
            real = spflow_shipped()
            if isinstance(real, str):
                skipped[name] = real
                print(f"{name:<20} skipped: {real}")
                continue
            circuit, spflow_root, data = real
        else:
            loaded = load_shipped(name)
            if isinstance(loaded, str):
                skipped[name] = loaded
                print(f"{name:<20} skipped: {loaded}")
                continue
            circuit, data = loaded
        results.append(bench_one(name, circuit, data, args, spflow_root))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    tree = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                          text=True, cwd=Path(__file__).parent).stdout.strip()
    Path(args.json).write_text(json.dumps({"argv": sys.argv[1:], "tree": tree,
                                           "threads": args.threads,
                                           "torch": torch.__version__,
                                           "device": args.device, "dtypes": args.dtypes,
                                           "results": results, "skipped": skipped}, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
