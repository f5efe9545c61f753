"""Input families: one module per family (its parameters, checks, log-density, mode and sampler
in float64 numpy), and the table of them all (`FAMILIES`, `family(name)`)."""

from pcc.families.base import Family
from pcc.families.table import FAMILIES, family

__all__ = ["FAMILIES", "Family", "family"]
