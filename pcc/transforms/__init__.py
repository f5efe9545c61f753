"""Transforms: pure `Circuit -> (Circuit, report)` passes, one per module, by name in `PASSES`.

    circuit, reports = apply_passes(circuit, ["prune", "smooth", "normalize"])
    for r in reports: print(r.text())

Each pass is a frozen dataclass whose fields are its options (`Prune(merge=False)(circuit)`).
"""

from __future__ import annotations

from typing import Callable, Sequence

from pcc.ir import Circuit
from pcc.transforms.base import PassReport, TransformError
from pcc.transforms.binarize import Binarize, BinarizeReport
from pcc.transforms.condition import Condition, ConditionReport, parse_evidence
from pcc.transforms.marginalize import Marginalize, MarginalizeReport, parse_variables
from pcc.transforms.normalize import Normalize, NormalizeReport
from pcc.transforms.prune import Prune, PruneReport
from pcc.transforms.scalarize import Scalarize, ScalarizeReport
from pcc.transforms.smooth import Smooth, SmoothReport
from pcc.transforms.vectorize import Vectorize, VectorizeReport, vectorize_options

Pass = Callable[[Circuit], "tuple[Circuit, PassReport]"]

# name -> the pass with its default options (dispatch through this one table)
PASSES: dict[str, Pass] = {
    "prune": Prune(),
    "smooth": Smooth(),
    "normalize": Normalize(),
    "vectorize": Vectorize(),
    "binarize": Binarize(),
    "scalarize": Scalarize(),
}

# passes that need arguments: `condition:3=1:5=0`, `marginalize:2:4`
WITH_ARGUMENTS: dict[str, Callable[[list[str]], Pass]] = {
    "condition": lambda args: Condition(parse_evidence(args)),
    "marginalize": lambda args: Marginalize(parse_variables(args)),
    "vectorize": lambda args: vectorize_options(args),   # `vectorize:always`, `vectorize:torch`
}


def get_pass(spec: str) -> Pass:
    """The pass named by `spec` (`prune`, or `condition:3=1` with its arguments after colons);
    a TransformError naming the known ones otherwise."""
    name, *args = spec.strip().split(":")
    if name in WITH_ARGUMENTS:
        return WITH_ARGUMENTS[name](args)
    if name in PASSES and not args:
        return PASSES[name]
    if name in PASSES:
        raise TransformError(f"pass {name!r} takes no arguments, got {spec!r}")
    known = ", ".join(list(PASSES) + [f"{n}:..." for n in WITH_ARGUMENTS if n not in PASSES])
    raise TransformError(f"unknown pass {name!r}; known: {known}")


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


__all__ = ["Binarize", "BinarizeReport", "Condition", "ConditionReport", "Marginalize",
           "MarginalizeReport", "WITH_ARGUMENTS",
           "Normalize", "NormalizeReport", "PASSES", "PassReport", "Prune", "PruneReport",
           "Scalarize", "ScalarizeReport",
           "Smooth", "SmoothReport", "Vectorize", "VectorizeReport", "TransformError", "apply_passes",
           "get_pass"]
