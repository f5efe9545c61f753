"""`check`: run every analysis and return one `Report`."""

from __future__ import annotations

from pcc.analysis.decomposability import decomposability
from pcc.analysis.determinism import BUDGET, determinism
from pcc.analysis.normalization import normalization
from pcc.analysis.report import Report
from pcc.analysis.smoothness import smoothness
from pcc.analysis.stats import stats
from pcc.analysis.structured import structured
from pcc.ir import Circuit, Vtree


def check(circuit: Circuit, vtree: Vtree | None = None,
          determinism_budget: int = BUDGET, with_stats: bool = True) -> Report:
    """Smoothness, decomposability, structured decomposability (against `vtree`, or the
    implied vtree), normalization, determinism and (optionally) statistics. Never raises
    for a well-formed circuit; the violations are in that order."""
    report = smoothness(circuit).merge(decomposability(circuit))
    if report.decomposable:
        report = report.merge(structured(circuit, vtree))
    else:
        # structured decomposability needs decomposability; the violations are listed above
        report = report.merge(Report(structured_decomposable=False, vtree=vtree,
                                     vtree_source="given" if vtree is not None else None))
    report = report.merge(normalization(circuit)).merge(determinism(circuit, determinism_budget))
    if with_stats:
        report = report.merge(Report(stats=stats(circuit)))
    return report
