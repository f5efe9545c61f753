"""Layering: `Circuit -> LayeredCircuit`, a frozen plan of blocks that one tensor op each evaluates."""

from pcc.layering.layer import DEFAULT_PADDING, layer
from pcc.layering.plan import NEG_INF_COLUMN, ZERO, Block, LayeredCircuit
from pcc.layering.table import format_plan
from pcc.layering.verify import plan_problems

__all__ = ["Block", "DEFAULT_PADDING", "LayeredCircuit", "NEG_INF_COLUMN", "ZERO", "format_plan",
           "layer", "plan_problems"]
