"""pcc vs the reference EiNet code (and libcirkit when installed) on identical region graphs:
forward, forward+backward, one EM step, peak memory.

    EINET_PATH=/path/to/EinsumNetworks .venv/bin/python tools/bench_einet.py --json bench.json

Structures: RAT (784 variables, depth 5, 10 repetitions) and PD (28x28, delta 7); K = 10, 32;
Bernoulli and Gaussian leaves; batch 100 and 1000 (flags pick subsets). When EINET_PATH points at
a checkout of github.com/cambridge-mlg/EinsumNetworks, the region graph is made by EiNet's own
generator and converted, so both sides run the same structure; otherwise pcc's generators are
used and the EiNet columns are skipped. Each (implementation, case) runs in a fresh process with
the same torch threads and OMP_WAIT_POLICY, so that peak RSS is its own. Each op (forward,
forward+backward, EM step) runs once as a warm-up, then --repeats timed runs; its peak is the
resident set's high-water mark over its timed runs only (reset after the warm-up) minus the
resident set after the model and the data were made, before any op; `peak_mb` is the largest
of the three. Times are medians of the timed runs; float32 on CPU. Both sides get the same
region graph (EiNet's, converted), the same batch and the same ops.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak() -> None:
    """Start the peak resident set afresh (Linux: VmHWM), so that building the model does not
    count; without that file, the lifetime peak (ru_maxrss) is what `peak_mb` reports."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(fn, repeats: int, base: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(median seconds, peak MB over `base`) of `repeats` timed runs after one warm-up; the
    warm-up's one-time costs (lazily built kernels and caches) are not in the peak, what they
    keep resident is."""
    fn()  # warm-up
    reset_peak()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), peak_mb() - base


def timed_ops(ops: dict, repeats: int, base: float) -> dict[str, float]:  # type: ignore[type-arg]
    """Every op's median time and peak (`measure`), and the largest peak as `peak_mb`."""
    out: dict[str, float] = {}
    for name, fn in ops.items():
        out[name], out[f"peak_{name}_mb"] = measure(fn, repeats, base)
    out["peak_mb"] = max(out[f"peak_{name}_mb"] for name in ops)
    return out


# -- structures -------------------------------------------------------------------------------
def einet_graph(structure: str, seed: int):  # type: ignore[no-untyped-def]
    import numpy as np
    from EinsumNetwork import Graph  # type: ignore[import-not-found]

    np.random.seed(seed)
    if structure == "rat":
        return Graph.random_binary_trees(num_var=784, depth=5, num_repetitions=10)
    return Graph.poon_domingos_structure(shape=(28, 28), delta=[[7.0, 7.0]])


def region_graph_from_einet(graph):  # type: ignore[no-untyped-def]
    """EiNet's networkx graph (DistributionVector -> Product -> DistributionVector) as a pcc
    RegionGraph: one region per DistributionVector, one partition per Product."""
    from EinsumNetwork import Graph  # type: ignore[import-not-found]

    from pcc.regions import RegionGraph

    regions = sorted(n for n in graph.nodes if isinstance(n, Graph.DistributionVector))
    index = {node: i for i, node in enumerate(regions)}
    partitions = [(index[region], [index[c] for c in sorted(graph.successors(product))])
                  for region in regions for product in graph.successors(region)]
    num_vars = max(max(r.scope) for r in regions) + 1
    return RegionGraph(num_vars, [r.scope for r in regions], partitions)


def pcc_region_graph(structure: str, seed: int):  # type: ignore[no-untyped-def]
    from pcc.regions import poon_domingos, random_binary_trees

    if structure == "rat":
        return random_binary_trees(784, 5, 10, seed=seed)
    return poon_domingos((28, 28), 7)


# -- workers: one case in this process ----------------------------------------------------------
def data(leaf: str, batch: int):  # type: ignore[no-untyped-def]
    import torch

    g = torch.Generator().manual_seed(0)
    if leaf == "bernoulli":
        return (torch.rand(batch, 784, generator=g) < 0.3).float()
    return torch.randn(batch, 784, generator=g) * 0.5


def run_pcc(args: argparse.Namespace) -> dict[str, float]:
    import torch

    from pcc.backends.torch import compile
    from pcc.learn import EM
    from pcc.regions import build_circuit

    graph = region_graph_from_einet(einet_graph(args.structure, args.seed)) if args.einet \
        else pcc_region_graph(args.structure, args.seed)
    began = time.perf_counter()
    circuit = build_circuit(graph, units=args.k, leaf=args.leaf, seed=args.seed)
    build_s = time.perf_counter() - began
    began = time.perf_counter()
    model = compile(circuit, dtype=torch.float32)
    compile_s = time.perf_counter() - began
    x = data(args.leaf, args.batch)
    em = EM(model)
    base = rss_mb()

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def backward() -> None:
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    def em_step() -> None:
        em.accumulate(x)
        em.update(step=0.05)

    out = timed_ops({"forward": forward, "forward_backward": backward, "em_step": em_step},
                    args.repeats, base)
    with torch.no_grad():
        out["ll_mean"] = float(model(x).mean())
    out.update(build_s=build_s, compile_s=compile_s, units=circuit.num_units)
    return out


def run_einet(args: argparse.Namespace) -> dict[str, float]:
    import torch
    from EinsumNetwork import EinsumNetwork  # type: ignore[import-not-found]

    graph = einet_graph(args.structure, args.seed)
    family = EinsumNetwork.BinomialArray if args.leaf == "bernoulli" else EinsumNetwork.NormalArray
    family_args = {"N": 1} if args.leaf == "bernoulli" else {"min_var": 1e-6, "max_var": 10.0}
    net = EinsumNetwork.EinsumNetwork(graph, EinsumNetwork.Args(
        num_var=784, num_dims=1, num_classes=1, num_sums=args.k, num_input_distributions=args.k,
        exponential_family=family, exponential_family_args=family_args,
        online_em_frequency=1, online_em_stepsize=0.05))
    net.initialize()
    x = data(args.leaf, args.batch)
    base = rss_mb()

    def forward() -> None:
        with torch.no_grad():
            net(x)

    def backward() -> None:
        net.zero_grad(set_to_none=True)
        net(x).sum().backward()

    def em_step() -> None:
        net(x).sum().backward()
        net.em_process_batch()
        net.em_update()

    out = timed_ops({"forward": forward, "forward_backward": backward, "em_step": em_step},
                    args.repeats, base)
    with torch.no_grad():
        out["ll_mean"] = float(net(x).mean())
    return out


def _networkx_compat() -> None:
    """EiNet's Graph.py imports read_gpickle/write_gpickle, which networkx 3 removed; it never
    calls them here, so stand-ins that refuse to run let the module import."""
    import networkx

    def removed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("networkx 3 has no gpickle support")

    for name in ("read_gpickle", "write_gpickle"):
        if not hasattr(networkx, name):
            setattr(networkx, name, removed)
    # EiNet's utils.py imports PIL only to save sample images, which the benchmark never does
    try:
        import PIL  # noqa: F401
    except ImportError:
        import types

        pil = types.ModuleType("PIL")
        pil.Image = types.ModuleType("PIL.Image")  # type: ignore[attr-defined]
        sys.modules.update({"PIL": pil, "PIL.Image": pil.Image})  # type: ignore[attr-defined]


def worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    if args.einet:
        sys.path.insert(0, str(Path(os.environ["EINET_PATH"]) / "src"))
        _networkx_compat()
    sys.path.insert(0, str(ROOT))
    result = run_pcc(args) if args.impl == "pcc" else run_einet(args)
    print(json.dumps(result))


# -- driver ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", default="rat,pd")
    parser.add_argument("--ks", default="10,32")
    parser.add_argument("--leaves", default="bernoulli,gaussian")
    parser.add_argument("--batches", default="100,1000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--impls", default="pcc,einet", help="which sides to run")
    parser.add_argument("--json", default="bench_einet.json")
    parser.add_argument("--worker", nargs=5, metavar=("IMPL", "STRUCTURE", "K", "LEAF", "BATCH"))
    args = parser.parse_args()
    args.einet = bool(os.environ.get("EINET_PATH"))
    if args.worker:
        args.impl, args.structure, k, args.leaf, batch = args.worker
        args.k, args.batch = int(k), int(batch)
        worker(args)
        return
    impls = [i for i in args.impls.split(",") if i == "pcc" or (i == "einet" and args.einet)]
    rows = []
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=str(args.threads))
    for structure, k, leaf, batch in itertools.product(
            args.structures.split(","), [int(k) for k in args.ks.split(",")],
            args.leaves.split(","), [int(b) for b in args.batches.split(",")]):
        row: dict[str, object] = {"structure": structure, "k": k, "leaf": leaf, "batch": batch}
        for impl in impls:
            cmd = [sys.executable, __file__, "--worker", impl, structure, str(k), leaf,
                   str(batch), "--repeats", str(args.repeats), "--threads", str(args.threads),
                   "--seed", str(args.seed)]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                      timeout=args.timeout)
                row[impl] = json.loads(done.stdout.strip().splitlines()[-1]) \
                    if done.returncode == 0 else {"error": done.stderr.strip()[-300:]}
            except subprocess.TimeoutExpired:
                row[impl] = {"error": f"timeout after {args.timeout:.0f} s"}
        rows.append(row)
        print(format_row(row, impls), flush=True)
        Path(args.json).write_text(json.dumps({
            "command": " ".join((["EINET_PATH=..."] if args.einet else []) + ["python"] + sys.argv),
            "einet": args.einet, "threads": args.threads, "repeats": args.repeats,
            "rows": rows}, indent=1) + "\n")
    print(table(rows, impls))


def format_row(row: dict, impls: list[str]) -> str:  # type: ignore[type-arg]
    parts = [f"{row['structure']} K={row['k']} {row['leaf']} B={row['batch']}:"]
    for impl in impls:
        r = row[impl]
        if "error" in r:
            parts.append(f"{impl} error: {r['error'].splitlines()[-1] if r['error'] else '?'}")
        else:
            parts.append(f"{impl} fwd {r['forward'] * 1e3:.1f} ms, "
                         f"f+b {r['forward_backward'] * 1e3:.1f} ms, "
                         f"EM {r['em_step'] * 1e3:.1f} ms, peak {r['peak_mb']:.0f} MB "
                         f"(fwd {r['peak_forward_mb']:.0f}, f+b {r['peak_forward_backward_mb']:.0f}"
                         f", EM {r['peak_em_step_mb']:.0f})")
    return "  ".join(parts)


def table(rows: list[dict], impls: list[str]) -> str:  # type: ignore[type-arg]
    head = "| structure | K | leaf | batch |"
    for impl in impls:
        head += f" {impl} fwd ms | {impl} f+b ms | {impl} EM ms | {impl} peak MB |"
    if "einet" in impls:
        head += " EiNet/pcc time fwd / f+b / EM | pcc/EiNet peak |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in rows:
        line = f"| {row['structure']} | {row['k']} | {row['leaf']} | {row['batch']} |"
        for impl in impls:
            r = row[impl]
            if "error" in r:
                line += " error | | | |"
            else:
                line += (f" {r['forward'] * 1e3:.1f} | {r['forward_backward'] * 1e3:.1f} | "
                         f"{r['em_step'] * 1e3:.1f} | {r['peak_mb']:.0f} |")
        if "einet" in impls:
            p, e = row["pcc"], row["einet"]
            if "error" in p or "error" in e:
                line += " - | - |"
            else:
                speed = " / ".join(f"{e[op] / p[op]:.2f}x"
                                   for op in ("forward", "forward_backward", "em_step"))
                line += f" {speed} | {p['peak_mb'] / max(e['peak_mb'], 1e-9):.2f} |"
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
