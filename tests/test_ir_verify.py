"""Well-formedness: every bad circuit gets a message naming the group and the field."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.ir import (BINARY, REAL, Circuit, CircuitBuilder, Domain, Input, InvalidCircuitError,
                    Product, Sum, categorical)
from tests.strategies import circuits


def leaves():
    return [Input(0, 1, 0, "bernoulli", {"p": [0.5]}), Input(1, 1, 1, "gaussian",
                                                           {"mean": [0.0], "std": [1.0]})]


def problems_of(groups, domains=(BINARY, REAL)):
    with pytest.raises(InvalidCircuitError) as error:
        Circuit(groups, domains)
    return error.value.problems


@pytest.mark.parametrize("groups, expected", [
    (leaves() + [Product(2, 1, (0, 5))],
     "product #2: child refers to #5, which does not exist (dangling child id)"),
    (leaves() + [Product(2, 1, (0, 3)), Sum(3, 1, (2,), [[1.0]])],
     "product #2: child refers to #3, which comes later (a cycle or a forward reference)"),
    (leaves() + [Product(2, 1, (0, 2))], "product #2: child refers to itself (a cycle)"),
    (leaves() + [Sum(2, 1, (0, 1), [[0.5, 0.5, 0.0]])],
     "sum #2: weights have shape (1, 3), expected (1, 2)"),
    (leaves() + [Sum(2, 1, (0, 1), [[-0.5, 1.5]])],
     "sum #2: weights must be finite and >= 0, got -0.5 at [0, 0]"),
    (leaves() + [Sum(2, 1, (0, 1), [[np.nan, 1.0]])],
     "sum #2: weights must be finite and >= 0, got nan at [0, 0]"),
    (leaves() + [Sum(2, 1, (0, 1), [[np.inf, 1.0]])],
     "sum #2: weights must be finite and >= 0, got inf at [0, 0]"),
    ([Input(0, 1, 2, "bernoulli", {"p": [0.5]})],
     "input #0: variable x2 is out of range (the circuit has 2 variables)"),
    ([Input(0, 1, 1, "bernoulli", {"p": [0.5]})],
     "input #0: a bernoulli input cannot model x1, which is real"),
    ([Input(0, 1, 0, "bernoulli", {"p": [1.5]})],
     "input #0: p must lie in [0, 1], got 1.5 at [0]"),
    ([Input(0, 2, 1, "gaussian", {"mean": [0.0, 1.0], "std": [1.0, 0.0]})],
     "input #0: std must be finite and > 0, got 0.0 at [1]"),
    (leaves() + [Input(2, 2, 0, "bernoulli", {"p": [0.5, 0.5]}), Product(3, 1, (0, 2))],
     "product #3: hadamard product of 1 units has children with units [1, 2]"),
    (leaves() + [Product(2, 3, (0, 1), "kronecker")],
     "product #2: kronecker product has 3 units, but its children's units [1, 1] multiply to 1"),
    (leaves() + [Sum(2, 2, (0, 1), [[1.0, 0.0], [0.0, 1.0]], "mixing")],
     "sum #2: mixing sum of 2 units has children with units [1, 1]"),
    ([Input(1, 1, 0, "bernoulli", {"p": [0.5]})],
     "input #1: is at position 0; ids must equal positions (children before parents, root last)"),
    (leaves() + [Product(2, 1, (0,))],
     "groups #1 have no parent; only the root (the last group, #2) may have none"),
    ([], "a circuit needs at least one group"),
])
def test_problem_messages(groups, expected):
    assert expected in problems_of(groups)


def test_every_problem_is_reported_not_just_the_first():
    groups = leaves() + [Sum(2, 1, (0, 1), [[-1.0, 2.0]]), Sum(3, 1, (2, 9), [[0.5, 0.5]])]
    found = problems_of(groups)
    assert len(found) == 2
    assert found[0].startswith("sum #2: weights") and found[1].startswith("sum #3: child")


def test_problems_are_records_naming_group_and_kind():
    groups = leaves() + [Sum(2, 1, (0, 1), [[-1.0, 2.0]]), Product(3, 1, (2, 9))]
    with pytest.raises(InvalidCircuitError) as error:
        Circuit(groups, (BINARY, REAL))
    records = error.value.records
    assert [(r.group, r.kind) for r in records] == [(2, "sum"), (3, "product")]
    assert [r.message for r in records] == error.value.problems
    assert str(records[1]) == "product #3: child refers to #9, which does not exist " \
                              "(dangling child id)"
    with pytest.raises(InvalidCircuitError) as error:
        Circuit(leaves() + [Product(2, 1, (0,))], (BINARY, REAL))
    assert [r.group for r in error.value.records] == [None]  # orphans: about the circuit


def test_a_plain_string_becomes_a_problem_of_no_group():
    error = InvalidCircuitError(["the graph has a cycle"])
    assert error.records[0].group is None and error.problems == ["the graph has a cycle"]


def test_origin_appears_in_the_message():
    groups = [Input(0, 1, 0, "bernoulli", {"p": [2.0]}, origin="a.psdd:7")]
    assert problems_of(groups) == ["input #0 (a.psdd:7): p must lie in [0, 1], got 2.0 at [0]"]


@pytest.mark.parametrize("make, expected", [
    (lambda: Input(0, 2, 0, "bernoulli", {"p": [0.5]}),
     "input #0 (bernoulli): p has shape (1,), expected (units,) with units=2"),
    (lambda: Input(0, 1, 0, "dirichlet", {}), "input #0: unknown family 'dirichlet'"),
    (lambda: Input(0, 1, 0, "gaussian", {"mean": [0.0]}),
     "input #0 (gaussian): expected parameters mean, std, got mean"),
    (lambda: Input(0, 1, 0, "indicator", {"value": [0.5]}),
     "input #0 (indicator): value must hold integers"),
    (lambda: Sum(0, 2, (1,), [[1.0]]),
     "sum #0: weights have shape (1, 1), expected (units=2, number of inputs)"),
    (lambda: Product(0, 0, ()), "product #0: units must be an int >= 1, got 0"),
    (lambda: Product(0, 1, (), "outer"), "product #0: mode must be hadamard or kronecker"),
])
def test_constructors_check_their_own_fields(make, expected):
    with pytest.raises(ValueError, match="^" + expected.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        make()


def test_categorical_size_must_match_the_domain():
    b = CircuitBuilder([categorical(3)])
    b.categorical(0, probs=[[0.5, 0.5]])
    with pytest.raises(InvalidCircuitError, match="probs has 2 values but the variable is "
                                                  r"categorical\(3\)"):
        b.build()


def test_indicator_value_outside_the_domain():
    b = CircuitBuilder([BINARY])
    b.indicator(0, value=2)
    with pytest.raises(InvalidCircuitError, match="value 2 at \\[0\\] is outside"):
        b.build()


def test_domain_parsing_and_errors():
    assert Domain.parse("categorical(5)") == categorical(5)
    assert str(Domain.parse("binary")) == "binary"
    with pytest.raises(ValueError, match="unknown domain 'ordinal'"):
        Domain("ordinal")
    with pytest.raises(ValueError, match="categorical domain needs a size"):
        Domain("categorical")


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_a_broken_group_anywhere_in_a_random_circuit_is_found(data):
    """The vectorized screen in verify must flag every broken group, wherever it sits."""
    circuit = data.draw(circuits())
    inner = [g for g in circuit if g.kind != "input"]
    if not inner:
        return
    group = data.draw(st.sampled_from(inner))
    groups = list(circuit.groups)
    if isinstance(group, Sum):
        broken = Sum(group.id, group.units, group.children,
                     np.concatenate([group.weights, group.weights[:, :1]], axis=1), group.mode)
        expected = f"sum #{group.id}: weights have shape"
    else:
        kind = "hadamard" if group.mode == "kronecker" else "kronecker"
        broken = Product(group.id, group.units + 1, group.children, kind)
        expected = f"product #{group.id}: "
    groups[group.id] = broken
    assert any(p.startswith(expected) for p in problems_of(groups, circuit.domains))
