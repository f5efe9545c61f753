"""`build_circuit`: a region graph becomes a smooth, decomposable `pcc.ir.Circuit`.

Every region gets a vector of K units. A leaf region is one input group of `input_units` per
variable, joined by a hadamard product when it has several variables (K fully factorized
distributions). A partition of a region into children c_1..c_n is
- `tucker` (EiNets): a dense sum of K units over the kronecker product of its children. A
  partition with n > 2 children is binarized left to right: ((c_1 x c_2) -> K) x c_3 -> ...,
  so no group ever holds more than K^2 product units;
- `cp`: a dense K x K sum per child, then a hadamard product of the n results (n-ary as is).
  With `cp_leaf_sums=False`, a leaf-region child with K units enters the product as it is (no
  sum): the HCLT of Liu & Van den Broeck, where leaf unit k is p(x_i | z_i = k).
A region with several partitions mixes them with a mixing sum. The root region has one unit
(`tucker`), or gets a final one-unit dense sum (`cp`).

Weights and input parameters are drawn at random from `seed`; the same arguments always give the
same circuit. Group origins name the region (and partition) each group comes from.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pcc.ir import BINARY, REAL, Circuit, CircuitBuilder, Domain, categorical
from pcc.regions.graph import RegionGraph

SUM_PRODUCTS = ("tucker", "cp")
LEAVES = ("bernoulli", "categorical", "binomial", "gaussian")


def build_circuit(graph: RegionGraph, units: int, input_units: int | None = None,
                  leaf: str = "bernoulli", sum_product: str = "tucker", seed: int = 0,
                  domains: Sequence[Domain] | None = None,
                  categories: int | None = None, cp_leaf_sums: bool = True) -> Circuit:
    """The circuit of `graph` with `units` per region and `leaf` inputs (see the module doc).

    `domains` defaults to binary (bernoulli), real (gaussian) or categorical(`categories`)."""
    if sum_product not in SUM_PRODUCTS:
        raise ValueError(f"sum_product must be one of {SUM_PRODUCTS}, got {sum_product!r}")
    if leaf not in LEAVES:
        raise ValueError(f"leaf must be one of {LEAVES}, got {leaf!r}")
    if units < 1:
        raise ValueError(f"units must be >= 1, got {units}")
    input_units = units if input_units is None else input_units
    domains = list(domains) if domains is not None else _default_domains(graph, leaf, categories)
    if len(domains) != graph.num_vars:
        raise ValueError(f"{len(domains)} domains for a region graph of {graph.num_vars} "
                         "variables")
    rng = np.random.default_rng(seed)
    b = CircuitBuilder(domains)
    node: dict[int, int] = {}  # region id -> group id of its vector of units
    for r in graph.order:
        out = 1 if (r == graph.root and sum_product == "tucker") else units
        if graph.is_leaf(r):
            node[r] = _leaf(b, rng, graph.regions[r], leaf, input_units, f"region {r}")
            continue
        parts = []
        for p in graph.partitions_of[r]:
            children = [node[c] for c in graph.partitions[p].children]
            origin = f"region {r} partition {p}"
            if sum_product == "tucker":
                parts.append(_tucker(b, rng, children, units, out, origin))
            else:
                plain = [not cp_leaf_sums and graph.is_leaf(c) and b.units(node[c]) == units
                         for c in graph.partitions[p].children]
                parts.append(_cp(b, rng, children, plain, units, origin))
        if len(parts) == 1:
            node[r] = parts[0]
        else:
            w = _simplex(rng, (out, len(parts)))
            node[r] = b.sum(parts, w, mode="mixing", origin=f"region {r}")
    root = node[graph.root]
    if b.units(root) != 1:
        w = _simplex(rng, (1, b.units(root)))
        root = b.sum([root], w, origin=f"region {graph.root} root")
    return b.build(root)


def _default_domains(graph: RegionGraph, leaf: str, categories: int | None) -> list[Domain]:
    if leaf == "gaussian":
        return [REAL] * graph.num_vars
    if leaf == "bernoulli" or categories in (None, 2):
        if leaf != "bernoulli" and categories is None:
            raise ValueError(f"{leaf} leaves need `categories` or `domains`")
        return [BINARY] * graph.num_vars
    return [categorical(int(categories))] * graph.num_vars


def _simplex(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random rows that sum to one, bounded away from zero (EM cannot revive a zero weight)."""
    w = rng.uniform(0.01, 1.0, size=shape)
    return w / w.sum(axis=-1, keepdims=True)


def _leaf(b: CircuitBuilder, rng: np.random.Generator, scope: Sequence[int], leaf: str,
          units: int, origin: str) -> int:
    inputs = [_input(b, rng, v, leaf, units, origin) for v in scope]
    return inputs[0] if len(inputs) == 1 else b.product(inputs, "hadamard", origin=origin)


def _input(b: CircuitBuilder, rng: np.random.Generator, var: int, leaf: str, units: int,
           origin: str) -> int:
    domain = b.domains[var]
    if leaf == "bernoulli":
        return b.bernoulli(var, p=rng.uniform(0.2, 0.8, size=units), origin=origin)
    if leaf == "categorical":
        return b.categorical(var, probs=_simplex(rng, (units, int(domain.size or 2))),
                             origin=origin)
    if leaf == "binomial":
        if domain.size is None:
            raise ValueError(f"binomial leaves need a finite domain, x{var} is {domain}")
        n = np.full(units, domain.size - 1)
        return b.binomial(var, n=n, p=rng.uniform(0.2, 0.8, size=units), origin=origin)
    return b.gaussian(var, mean=rng.normal(size=units), std=np.ones(units), origin=origin)


def _tucker(b: CircuitBuilder, rng: np.random.Generator, children: list[int], units: int,
            out: int, origin: str) -> int:
    """Dense sums over kronecker products, two children at a time."""
    acc = children[0]
    for i, child in enumerate(children[1:], start=2):
        kron = b.product([acc, child], "kronecker", origin=origin)
        size = out if i == len(children) else units
        acc = b.sum([kron], _simplex(rng, (size, b.units(kron))), origin=origin)
    return acc


def _cp(b: CircuitBuilder, rng: np.random.Generator, children: list[int], plain: list[bool],
        units: int, origin: str) -> int:
    """A K x (child units) dense sum per child (not for `plain` ones), then their hadamard
    product."""
    sums = [c if keep else b.sum([c], _simplex(rng, (units, b.units(c))), origin=origin)
            for c, keep in zip(children, plain)]
    return b.product(sums, "hadamard", origin=origin)
