"""Import benchmark: time to read the big shared circuit files into a `Circuit`, split into parse
(the frontend), group construction and verification (`pcc.ir`).

    .venv/bin/python tools/bench_import.py [--repeats 5] [--json out.json] [--only plants]
    PYTHONPATH=/tmp/old .venv/bin/python tools/bench_import.py   # another checkout's pcc

Rows: plants.psdd (+ vtree checks, 153k groups), the MNIST .jpc and PC.jl .spn (52k groups),
msweb-mn.ac (Libra, unnormalized), PLANTS_4000 (SPFlow text), and "plants.psdd -> compiled":
the file read and compiled to a torch module (float32, CPU). Prints median seconds over the
repeats (wall clock and process CPU time: on a shared, oversubscribed machine the CPU time is
the fairer number) and writes them as JSON. Construction/verify time is measured by wrapping
`Circuit.verify` for one extra run, not in the timed repeats: "read s" is the rest (the parse
and the making of the groups). To compare
two versions, run both interleaved (`--repeats 1` in a loop) and compare medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "circuits"
CASES = [
    ("plants.psdd + vtree", "psdd/plants.psdd", {"vtree": "psdd/plants.vtree"}),
    ("plants.psdd", "psdd/plants.psdd", {}),
    ("mnist .jpc", "jpc/mnist_cats8_181.jpc", {}),
    ("mnist PC.jl .spn", "pcjl_spn/mnist_cats8_181.spn", {}),
    ("msweb-mn.ac", "libra/msweb/msweb-mn.ac", {}),
    ("PLANTS_4000 SPFlow", "spflow_text/PLANTS_4000/structure.spn", {}),
    ("plants.psdd -> compiled", "psdd/plants.psdd", {"compile": True}),
]


def _load(path: Path, options: dict[str, object]) -> object:
    from pcc.io import load_circuit

    options = dict(options)
    compile_it = options.pop("compile", False)
    circuit = load_circuit(path, **options)
    if compile_it:
        from pcc.backends.torch import compile

        compile(circuit)
    return circuit


def _split(path: Path, options: dict[str, object]) -> tuple[float, int]:
    """(seconds in Circuit.verify, groups) for one load."""
    from pcc.ir import circuit as circuit_module

    spent = [0.0]
    verify = circuit_module.Circuit.verify

    def timed_verify(self):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        verify(self)
        spent[0] += time.perf_counter() - t

    circuit_module.Circuit.verify = timed_verify  # type: ignore[method-assign]
    try:
        circuit = _load(path, {k: v for k, v in options.items() if k != "compile"})
    finally:
        circuit_module.Circuit.verify = verify  # type: ignore[method-assign]
    return spent[0], len(circuit)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="bench_import.json")
    parser.add_argument("--only", default="", help="only the rows whose label contains this")
    args = parser.parse_args()

    rows = []
    print(f"{'file':24} {'groups':>8} {'median s':>9} {'min s':>7} {'cpu s':>7} {'read s':>8} "
          f"{'verify s':>9}")
    for label, relative, options in CASES:
        if args.only not in label:
            continue
        path = SHARED / relative
        opts = {k: SHARED / v if isinstance(v, str) else v  # type: ignore[operator]
                for k, v in options.items()}
        times, cpu = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            _load(path, opts)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        verify, groups = _split(path, opts)
        median = statistics.median(times)
        rows.append({"file": label, "groups": groups, "median_s": median, "min_s": min(times),
                     "median_cpu_s": statistics.median(cpu), "read_s": median - verify,
                     "verify_s": verify})
        print(f"{label:24} {groups:8d} {median:9.3f} {min(times):7.3f} "
              f"{statistics.median(cpu):7.3f} {median - verify:8.3f} {verify:9.3f}")
    Path(args.json).write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
