"""Analyses on hypothesis-generated circuits: valid circuits pass, a broken product is caught,
and the implied vtree agrees with a brute-force search over every vtree."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pcc.analysis import check, check_vtree, decomposability, implied_vtree, structured
from pcc.ir import BINARY, Circuit, Input, Vtree
from pcc.ir.circuit import mask_to_vars
from tests.strategies import circuits

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(circuits())
def test_generated_circuits_are_smooth_decomposable_and_normalized(circuit):
    report = check(circuit)
    assert report.smooth and report.decomposable and report.normalized, report.violations
    assert report.valid is True and report.violations == tuple(
        v for v in report.violations if v.property == "structured-decomposability")
    assert report.deterministic in ("yes", "unknown")
    assert report.stats["groups"]["total"] == len(circuit)


def _descendants(circuit: Circuit, id: int) -> set[int]:
    seen, stack = set(), [id]
    while stack:
        g = stack.pop()
        if g not in seen:
            seen.add(g)
            stack += circuit.groups[g].children
    return seen


@SETTINGS
@given(circuits(domains=st.just(BINARY)), st.data())
def test_a_product_that_repeats_a_variable_is_reported(circuit, data):
    """Move one input under child A of a product to a variable of its sibling B."""
    products = [g for g in circuit.groups if g.kind == "product" and len(g.children) >= 2]
    assume(products)
    product = data.draw(st.sampled_from(products))
    a, b = data.draw(st.permutations(product.children))[:2]
    assume(a != b)
    inputs = [i for i in sorted(_descendants(circuit, a)) if circuit.groups[i].kind == "input"]
    target = circuit.groups[data.draw(st.sampled_from(inputs))]
    var = data.draw(st.sampled_from(circuit.scope(b)))
    groups = list(circuit.groups)
    groups[target.id] = Input(target.id, target.units, var, target.family, target.params)
    broken = Circuit(groups, circuit.domains)
    report = decomposability(broken)
    assert report.decomposable is False
    assert product.id in [v.node for v in report.violations]
    assert check(broken).valid is False


def _all_vtrees(variables: tuple[int, ...]) -> list[object]:
    """Every vtree over `variables`, up to swapping left and right."""
    if len(variables) == 1:
        return [variables[0]]
    first, rest = variables[0], variables[1:]
    out = []
    for pick in range(2 ** len(rest) - 1):  # the left side holds `first`; right is non-empty
        left = (first,) + tuple(v for k, v in enumerate(rest) if pick >> k & 1)
        right = tuple(v for k, v in enumerate(rest) if not pick >> k & 1)
        out += [(a, b) for a in _all_vtrees(left) for b in _all_vtrees(right)]
    return out


@SETTINGS
@given(circuits(max_vars=4))
def test_the_implied_vtree_exists_exactly_when_some_vtree_fits(circuit):
    found, violation = implied_vtree(circuit)
    fitting = [t for t in _all_vtrees(mask_to_vars(circuit.scope_masks[-1]))
               if not check_vtree(circuit, Vtree.from_nested(t))]
    assert (found is not None) == bool(fitting)
    if found is not None:
        assert violation is None and check_vtree(circuit, found) == []
        assert structured(circuit, found).structured_decomposable is True
    else:
        assert violation is not None and circuit.groups[violation.node].kind == "product"
