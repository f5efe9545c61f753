"""Analyses of a circuit: `Circuit -> Report`, never raising on a well-formed circuit.

Each module is one analysis: smoothness, decomposability, structured (vtrees), normalization,
determinism, stats; `check` runs them all. Violations name the node, its kind, its children
and their scopes.
"""

from pcc.analysis.check import check
from pcc.analysis.decomposability import decomposability
from pcc.analysis.determinism import determinism
from pcc.analysis.normalization import normalization
from pcc.analysis.report import Report, Unproved, Violation, format_report, format_scope
from pcc.analysis.smoothness import smoothness
from pcc.analysis.stats import format_stats, stats
from pcc.analysis.structured import check_vtree, implied_vtree, structured

__all__ = [
    "Report", "Unproved", "Violation", "check", "check_vtree", "decomposability",
    "determinism", "format_report", "format_scope", "format_stats", "implied_vtree",
    "normalization", "smoothness", "stats", "structured",
]
