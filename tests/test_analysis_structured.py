"""Structured decomposability: the implied vtree of a structured circuit, checks against given
vtrees (n-ary products split recursively), and a deep chain that stays fast."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.analysis import check_vtree, format_report, implied_vtree, structured
from pcc.analysis.report import vtree_nested, vtree_text
from pcc.analysis.structured import Covering, respects
from pcc.ir import BINARY, CircuitBuilder, Vtree, vars_to_mask
from tests import analysis_circuits as make


def test_the_implied_vtree_of_a_structured_circuit_fits_it():
    circuit = make.structured_tree()
    report = structured(circuit)
    assert report.structured_decomposable is True and report.vtree_source == "implied"
    assert vtree_text(report.vtree) == "((0,1),((2,3),(4,5)))"
    assert check_vtree(circuit, report.vtree) == []
    assert structured(circuit, report.vtree).structured_decomposable is True


def test_a_vtree_that_cuts_a_pair_is_reported_for_every_product_over_it():
    circuit = make.structured_tree()
    wrong = Vtree.from_nested(((0, 2), ((1, 3), (4, 5))))
    violations = check_vtree(circuit, wrong)
    assert violations and all(v.property == "structured-decomposability" for v in violations)
    products = [g.id for g in circuit.groups if g.kind == "product"]
    assert {v.node for v in violations} <= set(products)
    assert len(violations) >= 3  # the pair in each of the two trees, and the ternary product


def test_n_ary_products_split_recursively_at_the_lowest_covering_node():
    vtree = Vtree.from_nested(((0, 1), (2, 3)))
    masks = tuple(vars_to_mask([v]) for v in range(4))
    assert respects(vtree, masks) is None  # {0},{1} | {2},{3}
    assert respects(vtree, (masks[0], masks[1] | masks[2], masks[3])) is not None
    assert respects(vtree, (masks[0] | masks[1], masks[2], masks[3])) is None
    node, part, straddling = respects(vtree, (masks[0] | masks[2], masks[1], masks[3]))
    assert node == vtree.root and straddling == (0,)


def test_a_product_of_one_child_and_a_single_variable_need_no_vtree_split():
    b = CircuitBuilder([BINARY])
    b.sum([b.product([b.bernoulli(0, p=0.5)])], weights=[1.0])
    found, violation = implied_vtree(b.build())
    assert violation is None and vtree_nested(found) == 0


def test_a_deep_chain_finds_its_right_linear_vtree_quickly():
    n = 2000
    b = CircuitBuilder([BINARY] * n)
    acc = b.bernoulli(n - 1, p=0.5)
    for v in reversed(range(n - 1)):
        acc = b.sum([b.product([b.bernoulli(v, p=0.5), acc])], weights=[1.0])
    circuit = b.build()
    start = time.perf_counter()
    found, _ = implied_vtree(circuit)
    assert time.perf_counter() - start < 5
    nested = vtree_nested(found)
    for v in range(n - 1):  # right-linear: (0, (1, (2, ...)))
        assert nested[0] == v
        nested = nested[1]
    start = time.perf_counter()
    assert check_vtree(circuit, found) == []
    assert time.perf_counter() - start < 5
    assert "implied vtree over 2000 variables (--json prints it)" in format_report(
        structured(circuit))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.permutations(range(n)),
                                                       st.lists(st.integers(0, 2), min_size=n,
                                                                max_size=n),
                                                       st.integers(1, 2 ** n - 1))))
def test_fast_lowest_covering_agrees_with_the_vtree(drawn):
    """Random vtree shapes (joining leaves by random choices) and random variable sets."""
    order, choices, pick = drawn
    nodes: list[object] = list(order)
    for c in choices:
        if len(nodes) < 2:
            break
        k = c % (len(nodes) - 1)
        nodes[k:k + 2] = [(nodes[k], nodes[k + 1])]
    while len(nodes) > 1:
        nodes[:2] = [(nodes[0], nodes[1])]
    vtree = Vtree.from_nested(nodes[0])
    mask = vars_to_mask([v for k, v in enumerate(sorted(order)) if pick >> k & 1])
    assert Covering(vtree).lowest(mask) == vtree.lowest_covering(mask)
