"""Shared checks for the torch backend tests: log-likelihoods compared with per-dtype tolerances."""

from __future__ import annotations

import numpy as np
import torch

TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-4}


def assert_logs_close(got: object, want: np.ndarray, rtol: float) -> None:
    """Same -inf positions exactly, no NaN, and |got - want| <= rtol * max(1, |want|) elsewhere.

    Log-likelihoods near 0 make a pure relative error meaningless, so the bound is relative to
    max(1, |want|): absolute near log 1, relative for the large magnitudes of long products.
    """
    got = got.detach().double().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert not np.isnan(got).any(), got
    assert np.array_equal(np.isneginf(got), np.isneginf(want)), (got, want)
    finite = np.isfinite(want)
    error = np.abs(got[finite] - want[finite]) / np.maximum(1.0, np.abs(want[finite]))
    assert error.size == 0 or error.max() <= rtol, (error.max(), got, want)
