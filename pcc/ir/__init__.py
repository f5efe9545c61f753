"""The circuit IR: variables with domains, input/product/sum groups, and the `Circuit` that holds them."""

from pcc.ir.builder import CircuitBuilder
from pcc.ir.circuit import Circuit, mask_to_vars, vars_to_mask
from pcc.ir.domains import BINARY, COUNT, REAL, Domain, categorical
from pcc.ir.errors import DataError, FormatError, InvalidCircuitError, PccError
from pcc.families import FAMILIES, Family
from pcc.ir.groups import Group, Input, Product, Sum
from pcc.ir.networkx import from_networkx, to_networkx
from pcc.ir.vtree import Vtree

__all__ = [
    "BINARY", "COUNT", "REAL", "Circuit", "CircuitBuilder", "DataError", "Domain", "FAMILIES",
    "Family", "FormatError", "Group", "Input", "InvalidCircuitError", "PccError", "Product", "Sum",
    "Vtree", "categorical", "from_networkx", "mask_to_vars", "to_networkx", "vars_to_mask",
]
