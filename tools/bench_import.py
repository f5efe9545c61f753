"""Import benchmark: time to read the big shared circuit files into a `Circuit`, split into parse
(the frontend), group construction and verification (`pcc.ir`).

    .venv/bin/python tools/bench_import.py [--repeats 5] [--json out.json]

Rows: plants.psdd (+ vtree checks, 153k groups), the MNIST .jpc and PC.jl .spn (52k groups),
msweb-mn.ac (Libra, unnormalized), PLANTS_4000 (SPFlow text). Prints median seconds over the
repeats (wall clock and process CPU time: on a shared, oversubscribed machine the CPU time is
the fairer number) and writes them as JSON. Construction/verify time is measured by wrapping
`Circuit.verify` and the group constructors for one extra run, not in the timed repeats.
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
]


def _split(path: Path, options: dict[str, object]) -> tuple[float, float, int]:
    """(seconds in Circuit.verify, seconds in the rest of Records.build, groups) for one load."""
    import pcc.frontends._text as text
    from pcc.io import load_circuit
    from pcc.ir import circuit as circuit_module

    spent = {"verify": 0.0, "build": 0.0}
    verify, build = circuit_module.Circuit.verify, text.Records.build

    def timed_verify(self):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        verify(self)
        spent["verify"] += time.perf_counter() - t

    def timed_build(self, *a, **k):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = build(self, *a, **k)
        spent["build"] += time.perf_counter() - t
        return out

    circuit_module.Circuit.verify, text.Records.build = timed_verify, timed_build  # type: ignore
    try:
        circuit = load_circuit(path, **options)
    finally:
        circuit_module.Circuit.verify, text.Records.build = verify, build  # type: ignore
    return spent["verify"], spent["build"] - spent["verify"], len(circuit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="bench_import.json")
    args = parser.parse_args()
    from pcc.io import load_circuit

    rows = []
    print(f"{'file':22} {'groups':>8} {'median s':>9} {'min s':>7} {'cpu s':>7} {'parse s':>8} "
          f"{'groups s':>9} {'verify s':>9}")
    for label, relative, options in CASES:
        path = SHARED / relative
        opts = {k: SHARED / v for k, v in options.items()}  # type: ignore[operator]
        times, cpu = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            load_circuit(path, **opts)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        verify, construct, groups = _split(path, opts)
        median = statistics.median(times)
        parse = median - verify - construct
        rows.append({"file": label, "groups": groups, "median_s": median, "min_s": min(times),
                     "median_cpu_s": statistics.median(cpu),
                     "parse_s": parse, "construct_s": construct, "verify_s": verify})
        print(f"{label:22} {groups:8d} {median:9.3f} {min(times):7.3f} "
              f"{statistics.median(cpu):7.3f} {parse:8.3f} "
              f"{construct:9.3f} {verify:9.3f}")
    Path(args.json).write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
