"""Region graphs and the circuits built from them (EiNets, RAT-SPNs, HCLTs).

A region graph says which scopes a circuit has and how they split; `build_circuit` turns one into
a `pcc.ir.Circuit` with K units per region. Each structure is one generator module; `policy`
picks the structure, leaves and domains for a data table (`pcc train --structure`).
"""

from pcc.regions.build import build_circuit
from pcc.regions.chain import linear_chain
from pcc.regions.graph import InvalidRegionGraphError, Partition, RegionGraph, RegionGraphBuilder
from pcc.regions.hclt import chow_liu_tree, hclt, mutual_information
from pcc.regions.policy import STRUCTURES, StructureSpec, circuit_for_data
from pcc.regions.poon_domingos import poon_domingos
from pcc.regions.quad_tree import quad_tree
from pcc.regions.random_binary import random_binary_trees

__all__ = [
    "STRUCTURES", "InvalidRegionGraphError", "Partition", "RegionGraph", "RegionGraphBuilder",
    "StructureSpec", "build_circuit", "chow_liu_tree", "circuit_for_data", "hclt", "linear_chain",
    "mutual_information", "poon_domingos", "quad_tree", "random_binary_trees",
]
