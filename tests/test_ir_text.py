"""The canonical text form and the builder."""

import numpy as np
import pytest

from pcc.ir import BINARY, REAL, CircuitBuilder, categorical

GOLDEN = """\
circuit over 2 variables: x0 binary, x1 real
  #0 = input bernoulli(x0) [2] p=[0.25, 0.75]
  #1 = input gaussian(x1) [2] mean=[0.0, 1.0] std=[1.0, 2.0]
  #2 = product kronecker(#0, #1) [4]
  #3 = sum dense(#2) [1] weights=[[0.1, 0.2, 0.3, 0.4]]
root #3"""


def small():
    b = CircuitBuilder([BINARY, REAL])
    x = b.bernoulli(0, p=[0.25, 0.75])
    y = b.gaussian(1, mean=[0.0, 1.0], std=[1.0, 2.0])
    b.sum([b.product([x, y], mode="kronecker")], weights=[[0.1, 0.2, 0.3, 0.4]])
    return b.build()


def test_repr_is_the_canonical_form():
    assert repr(small()) == GOLDEN


def test_large_arrays_print_a_summary():
    b = CircuitBuilder([categorical(20)])
    b.categorical(0, probs=np.full((1, 20), 0.05))
    assert repr(b.build()).splitlines()[1] == \
        "  #0 = input categorical(x0) [1] probs=f64[1,20] in [0.05, 0.05]"


def test_origin_is_printed():
    b = CircuitBuilder([BINARY])
    b.bernoulli(0, p=0.5, origin="model.psdd:12")
    assert repr(b.build()).splitlines()[1].endswith("# model.psdd:12")


def test_build_keeps_only_groups_reachable_from_the_root():
    b = CircuitBuilder([BINARY, BINARY])
    unused = b.bernoulli(1, p=0.5)
    x = b.bernoulli(0, p=0.5)
    root = b.sum([x], weights=[1.0])
    b.bernoulli(1, p=0.3)  # added after the root
    circuit = b.build(root)
    assert unused == 0
    assert [g.kind for g in circuit] == ["input", "sum"]
    assert circuit.root.children == (0,)


def test_scopes_depths_parents():
    c = small()
    assert c.scope(3) == (0, 1) and c.scope(0) == (0,)
    assert c.depths.tolist() == [0, 0, 1, 2]
    assert c.parents[0] == (2,) and c.parents[3] == ()
    assert c.num_units == 2 + 2 + 4 + 1


def test_groups_are_immutable():
    c = small()
    with pytest.raises(ValueError):
        c.root.weights[0, 0] = 1.0  # type: ignore[union-attr]
    with pytest.raises(AttributeError):
        c.root.units = 3  # type: ignore[misc]
