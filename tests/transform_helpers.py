"""Shared by the transform tests: equality of log-values on the reference interpreter."""

from __future__ import annotations

import numpy as np

from pcc.backends.reference import log_likelihood
from pcc.ir import Circuit

TOL = 1e-9


def assert_same_values(a: Circuit, b: Circuit, data: np.ndarray, shift: float = 0.0) -> None:
    """log a(x) == log b(x) + shift on every row, to 1e-9 (-inf where the other is -inf)."""
    want = log_likelihood(a, data)
    got = log_likelihood(b, data) + shift
    assert want.shape == got.shape
    finite = np.isfinite(want)
    assert np.array_equal(finite, np.isfinite(got)), (want, got)
    assert np.array_equal(want[~finite], got[~finite])
    np.testing.assert_allclose(got[finite], want[finite], rtol=TOL, atol=TOL)
