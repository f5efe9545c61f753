"""Small shared helpers for tests: comparing circuits exactly."""

from __future__ import annotations

import numpy as np

from pcc.ir import Circuit, Input, Sum


def assert_same_circuit(a: Circuit, b: Circuit) -> None:
    """Equal structure, domains and bit-identical parameters."""
    assert a.domains == b.domains
    assert len(a) == len(b)
    for g, h in zip(a.groups, b.groups):
        assert (g.kind, g.id, g.units, g.children) == (h.kind, h.id, h.units, h.children)
        if isinstance(g, Input):
            assert isinstance(h, Input)
            assert (g.var, g.family) == (h.var, h.family)
            for name, value in g.params.items():
                assert value.dtype == h.params[name].dtype
                assert np.array_equal(value, h.params[name])
        else:
            assert g.mode == h.mode  # type: ignore[union-attr]
        if isinstance(g, Sum):
            assert isinstance(h, Sum)
            assert g.weights.tobytes() == h.weights.tobytes()
