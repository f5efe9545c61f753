"""Transforms: pure `Circuit -> (Circuit, report)` passes, one per module, by name in `PASSES`.

    circuit, reports = apply_passes(circuit, ["prune", "smooth", "normalize"])
    for r in reports: print(r.text())

Each pass is a frozen dataclass whose fields are its options (`Prune(merge=False)(circuit)`).
"""

from __future__ import annotations

from typing import Callable, Sequence

from pcc.ir import Circuit
from pcc.transforms.base import PassReport, TransformError
from pcc.transforms.normalize import Normalize, NormalizeReport
from pcc.transforms.prune import Prune, PruneReport
from pcc.transforms.smooth import Smooth, SmoothReport
from pcc.transforms.vectorize import Vectorize, VectorizeReport

Pass = Callable[[Circuit], "tuple[Circuit, PassReport]"]

# name -> the pass with its default options (dispatch through this one table)
PASSES: dict[str, Pass] = {
    "prune": Prune(),
    "smooth": Smooth(),
    "normalize": Normalize(),
    "vectorize": Vectorize(),
}


def get_pass(name: str) -> Pass:
    """The pass called `name`; a TransformError naming the known ones otherwise."""
    try:
        return PASSES[name.strip()]
    except KeyError:
        raise TransformError(f"unknown pass {name!r}; known: {', '.join(PASSES)}") from None


def apply_passes(circuit: Circuit, names: Sequence[str] | str
                 ) -> tuple[Circuit, list[PassReport]]:
    """Apply the passes named in `names` (a list, or one comma-separated string) in order.
    Unknown names are refused before any pass runs."""
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    passes = [get_pass(n) for n in names]
    reports = []
    for run in passes:
        circuit, report = run(circuit)
        reports.append(report)
    return circuit, reports


__all__ = ["Normalize", "NormalizeReport", "PASSES", "PassReport", "Prune", "PruneReport",
           "Smooth", "SmoothReport", "Vectorize", "VectorizeReport", "TransformError", "apply_passes",
           "get_pass"]
