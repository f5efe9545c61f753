"""prune: same values as the reference on random circuits; unreachable, zero-weight, unread
and duplicate groups are removed; the report's text is pinned."""

import numpy as np
from hypothesis import given, strategies as st

from pcc.ir import BINARY, CircuitBuilder
from pcc.transforms import PASSES, Prune, apply_passes
from tests.strategies import circuits, data_for
from tests.transform_helpers import assert_same_values


@given(st.data())
def test_prune_keeps_values(data):
    circuit = data.draw(circuits())
    x = data.draw(data_for(circuit))
    pruned, report = Prune()(circuit)
    assert_same_values(circuit, pruned, x)
    assert report.groups_after == len(pruned) <= len(circuit)
    again, second = Prune()(pruned)
    assert len(again) == len(pruned) and second.merged == 0 and second.zero_inputs == 0


def _messy():
    b = CircuitBuilder([BINARY, BINARY])
    a0 = b.bernoulli(0, p=[0.3, 0.6])          # unit 1 read with weight 0 only
    a1 = b.bernoulli(1, p=0.2)
    twin = b.bernoulli(1, p=0.2)                # identical to a1
    dead = b.bernoulli(1, p=0.9)                # read with weight 0 only
    p1 = b.product([a0, a1], mode="kronecker")
    p2 = b.product([a0, twin], mode="kronecker")
    left = b.sum([p1, dead], [[1.0, 0.0, 0.0]])
    b.sum([left, p2], [[0.5, 0.5, 0.0]])
    return b.build()


def test_prune_removes_and_merges():
    circuit = _messy()
    pruned, report = Prune()(circuit)
    assert report.text() == ("prune: 8 -> 5 groups (1 unreachable, 1 zero-weight inputs, "
                             "0 unread units, 2 merged)")
    x = np.array([[0, 0], [1, 1], [np.nan, 1], [0, np.nan]], dtype=float)
    assert_same_values(circuit, pruned, x)
    assert "prune" in PASSES


def test_prune_drops_unread_units_of_a_dense_sum():
    b = CircuitBuilder([BINARY])
    x = b.bernoulli(0, p=[0.1, 0.5, 0.9])
    inner = b.sum([x], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    b.sum([inner], [[1.0, 0.0]])
    circuit = b.build()
    pruned, report = Prune()(circuit)
    assert report.units_dropped == 3  # x loses units 1, 2; inner loses unit 1
    assert [g.units for g in pruned] == [1, 1, 1]
    assert_same_values(circuit, pruned, np.array([[0.0], [1.0], [np.nan]]))


def test_apply_passes_refuses_unknown_before_running():
    import pytest

    from pcc.transforms import TransformError

    with pytest.raises(TransformError, match="unknown pass 'frobnicate'; known: prune"):
        apply_passes(_messy(), "prune,frobnicate")
