"""Load benchmark: file -> compiled torch module, stage by stage, on the big shared circuits.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python tools/bench_load.py [--repeats 5] [--json out.json]
        [--only plants]
    # another checkout: copy this file into its tools/ and run it there (it imports the pcc
    # next to it)

Stages (medians over the repeats after one untimed warm-up, each repeat from a fresh read, so no cached property of one
repeat helps the next): `read` = parse + IR build (the file through `pcc.io.load_circuit`,
without `Circuit.verify`, which is timed apart by wrapping it), `verify`, `check` = the
validity check `compile` runs (smoothness and decomposability, `refusal`), `layer` =
`pcc.layering.layer`, `module` = building the `CompiledCircuit` from the plan. `total` is timed
on its own: `compile(load_circuit(path))` end to end, the number the < 1.5 s goal is about.
One torch thread. Files missing from ../shared/data are listed as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "circuits"
if not SHARED.exists():
    SHARED = Path("/work/shared/data/circuits")

CASES = [
    ("plants.psdd + vtree", "psdd/plants.psdd", "psdd/plants.vtree"),
    ("kdd-6k.psdd + vtree", "psdd/kdd-6k.psdd", "psdd/kdd-6k.vtree"),
    ("msnbc.psdd", "psdd/msnbc.psdd", None),
    ("mnist .jpc", "jpc/mnist_cats8_181.jpc", None),
    ("msweb-mn.ac (Libra)", "libra/msweb/msweb-mn.ac", None),
]
STAGES = ("read", "verify", "check", "layer", "module")


def _stages(path: Path, vtree: Path | None) -> dict[str, float]:
    """Seconds per stage for one fresh load and compile."""
    from pcc.backends.torch import refusal
    from pcc.backends.torch.module import CompiledCircuit
    from pcc.io import load_circuit
    from pcc.ir import circuit as circuit_module
    from pcc.layering import layer

    spent = [0.0]
    verify = circuit_module.Circuit.verify

    def timed_verify(self: Any) -> None:
        t = time.perf_counter()
        verify(self)
        spent[0] += time.perf_counter() - t

    options: dict[str, Any] = {"vtree": vtree} if vtree else {}
    circuit_module.Circuit.verify = timed_verify  # type: ignore[method-assign]
    try:
        t = time.perf_counter()
        circuit = load_circuit(path, **options)
        read = time.perf_counter() - t
    finally:
        circuit_module.Circuit.verify = verify  # type: ignore[method-assign]
    out = {"read": read - spent[0], "verify": spent[0]}
    out["check"], error = _timed(lambda: refusal(circuit))
    out["layer"], plan = _timed(lambda: layer(circuit))
    out["module"], _ = _timed(lambda: CompiledCircuit(plan))
    out["groups"] = len(circuit)
    out["valid"] = error is None
    return out


def _total(path: Path, vtree: Path | None, valid: bool) -> float:
    from pcc.backends.torch import compile
    from pcc.io import load_circuit

    options: dict[str, Any] = {"vtree": vtree} if vtree else {}
    seconds, _ = _timed(lambda: compile(load_circuit(path, **options), allow_invalid=not valid))
    return seconds


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = run()
    return time.perf_counter() - t, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="bench_load.json")
    parser.add_argument("--only", default="", help="only the cases whose label contains this")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    head = f"{'file':22} {'groups':>7}" + "".join(f" {s + ' s':>8}" for s in STAGES)
    print(head + f" {'sum s':>7} {'total s':>8}")
    for label, relative, vtree_relative in CASES:
        if args.only not in label:
            continue
        path = SHARED / relative
        vtree = SHARED / vtree_relative if vtree_relative else None
        if not path.exists() or (vtree is not None and not vtree.exists()):
            skipped.append(label)
            continue
        _stages(path, vtree)  # warm-up, not timed: imports, torch's and the kernels' first use
        runs = [_stages(path, vtree) for _ in range(args.repeats)]
        valid = bool(runs[0]["valid"])
        totals = [_total(path, vtree, valid) for _ in range(args.repeats)]
        row: dict[str, Any] = {"file": label, "groups": runs[0]["groups"], "valid_pc": valid}
        for stage in STAGES:
            row[f"{stage}_s"] = statistics.median(r[stage] for r in runs)
        row["sum_of_stages_s"] = sum(row[f"{s}_s"] for s in STAGES)
        row["total_s"] = statistics.median(totals)
        row["total_min_s"] = min(totals)
        rows.append(row)
        print(f"{label:22} {row['groups']:7d}" + "".join(f" {row[s + '_s']:8.3f}" for s in STAGES)
              + f" {row['sum_of_stages_s']:7.3f} {row['total_s']:8.3f}")
    for label in skipped:
        print(f"{label:22} skipped: not in {SHARED}")
    meta = {"argv": sys.argv, "repeats": args.repeats, "threads": 1,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "python": platform.python_version(),
            "commit": _commit(), "skipped": skipped}
    Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {args.json}")


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":
    main()
