"""build_circuit: every structure gives a smooth, decomposable, normalized circuit that the
reference interpreter evaluates; determinism given a seed; n-ary partitions; speed."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from pcc.analysis import decomposability, normalization, smoothness
from pcc.backends.reference import log_likelihood
from pcc.ir import Circuit, Product, Sum, categorical
from pcc.regions import (RegionGraph, build_circuit, hclt, linear_chain, poon_domingos,
                         quad_tree, random_binary_trees)
from tests.helpers import assert_same_circuit


def _structures() -> dict[str, RegionGraph]:
    rng = np.random.default_rng(0)
    return {
        "rat": random_binary_trees(7, 2, 3, seed=2),
        "pd": poon_domingos((2, 4), [1, 2]),
        "qt2": quad_tree((2, 3), 2),
        "qt4": quad_tree((3, 3), 4),
        "hclt": hclt(rng.integers(0, 2, (200, 6))),
        "chain": linear_chain(5),
        "nary": RegionGraph(4, [[0], [1], [2], [3], [0, 1], [2, 3], [0, 1, 2, 3]],
                            [(6, [0, 1, 2, 3]), (6, [4, 5]), (4, [0, 1]), (5, [2, 3])]),
    }


def smooth_decomposable_problems(circuit: Circuit) -> list[str]:
    """Every sum whose children differ in scope, every product whose children overlap."""
    masks = circuit.scope_masks
    found = []
    for g in circuit.groups:
        child = [masks[c] for c in g.children]
        if isinstance(g, Sum) and len(set(child)) > 1:
            found.append(f"sum #{g.id} not smooth")
        if isinstance(g, Product):
            union = 0
            for m in child:
                if union & m:
                    found.append(f"product #{g.id} not decomposable")
                union |= m
    return found


def _all_assignments(circuit: Circuit) -> np.ndarray:
    sizes = [d.size for d in circuit.domains]
    return np.array(list(itertools.product(*[range(s) for s in sizes])), dtype=np.float64)


@pytest.mark.parametrize("sum_product", ["tucker", "cp"])
@pytest.mark.parametrize("name", list(_structures()))
def test_structure_builds_valid_normalized_circuit(name, sum_product):
    graph = _structures()[name]
    circuit = build_circuit(graph, units=3, input_units=2, sum_product=sum_product, seed=1)
    assert smooth_decomposable_problems(circuit) == []
    report = smoothness(circuit).merge(decomposability(circuit))
    assert report.valid and not report.violations, report
    assert normalization(circuit).normalized
    assert circuit.root.units == 1
    assert circuit.scope(circuit.root.id) == tuple(range(graph.num_vars))
    ll = log_likelihood(circuit, _all_assignments(circuit))
    assert np.isfinite(ll).all()
    assert np.exp(ll).sum() == pytest.approx(1.0, abs=1e-10)
    # marginalizing everything gives log 1
    nothing = log_likelihood(circuit, np.full((1, graph.num_vars), np.nan))[0]
    assert nothing == pytest.approx(0.0, abs=1e-12)


def test_categorical_and_binomial_leaves_normalized():
    graph = random_binary_trees(3, 2, 2, seed=0)
    for leaf in ("categorical", "binomial"):
        circuit = build_circuit(graph, units=2, leaf=leaf, categories=3, seed=3)
        assert circuit.domains == (categorical(3),) * 3
        total = np.exp(log_likelihood(circuit, _all_assignments(circuit))).sum()
        assert total == pytest.approx(1.0)


def test_gaussian_leaves_integrate_to_one():
    graph = linear_chain(2)
    circuit = build_circuit(graph, units=2, leaf="gaussian", seed=0)
    grid = np.linspace(-12, 12, 601)
    xy = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    mass = np.exp(log_likelihood(circuit, xy)).sum() * (grid[1] - grid[0]) ** 2
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_nary_partition_tucker_is_binarized_cp_is_not():
    graph = _structures()["nary"]
    tucker = build_circuit(graph, units=3, sum_product="tucker")
    kron = [g for g in tucker.groups if isinstance(g, Product) and g.mode == "kronecker"]
    assert all(len(g.children) == 2 for g in kron) and max(g.units for g in kron) == 9
    # the 4-way partition becomes 3 kronecker products, the two binary ones 1 each, plus 2 below
    assert len(kron) == 3 + 1 + 2
    cp = build_circuit(graph, units=3, sum_product="cp")
    assert max(len(g.children) for g in cp.groups if isinstance(g, Product)) == 4


def test_hclt_without_leaf_sums_is_normalized_and_smaller():
    graph = _structures()["hclt"]
    plain = build_circuit(graph, units=3, sum_product="cp", cp_leaf_sums=False)
    summed = build_circuit(graph, units=3, sum_product="cp")
    assert len(plain) < len(summed)
    assert np.exp(log_likelihood(plain, _all_assignments(plain))).sum() == pytest.approx(1.0)


def test_deterministic_given_seed():
    graph = random_binary_trees(12, 3, 2, seed=5)
    a = build_circuit(graph, units=4, seed=7)
    assert_same_circuit(a, build_circuit(graph, units=4, seed=7))
    b = build_circuit(graph, units=4, seed=8)
    assert not np.array_equal(a.root.weights, b.root.weights)


def test_bad_arguments():
    graph = linear_chain(2)
    with pytest.raises(ValueError, match="sum_product"):
        build_circuit(graph, 2, sum_product="tensor")
    with pytest.raises(ValueError, match="categories"):
        build_circuit(graph, 2, leaf="categorical")
    with pytest.raises(ValueError, match="2 domains"):
        build_circuit(linear_chain(3), 2, domains=[categorical(2)] * 2, leaf="categorical")


def test_large_pd_einet_builds_in_seconds():
    start = time.perf_counter()
    circuit = build_circuit(poon_domingos((28, 28), 7), units=40)
    elapsed = time.perf_counter() - start
    assert circuit.num_units > 300_000
    assert elapsed < 10.0, f"PD 28x28 K=40 took {elapsed:.1f}s"
