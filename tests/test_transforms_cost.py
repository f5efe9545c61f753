"""The cost model: the work it counts in a layered plan, the pass it prices (tiled, or per
block once an einsum block is in the plan), the constants' cache, and a calibration run."""

import json
import math
from dataclasses import asdict

import numpy as np
import pytest

from pcc.ir import BINARY, CircuitBuilder
from pcc.layering import layer
from pcc.transforms import cost
from pcc.transforms.cost import DEFAULTS, Constants, Costs, predict


def _sparse():
    b = CircuitBuilder([BINARY, BINARY])
    kids = [b.product([b.bernoulli(0, p=p), b.bernoulli(1, p=1 - p)]) for p in (0.2, 0.7, 0.5)]
    b.sum(kids, [0.2, 0.3, 0.5])
    return b.build()


def _dense():
    b = CircuitBuilder([BINARY, BINARY])
    pair = b.product([b.bernoulli(0, p=[0.2, 0.7]), b.bernoulli(1, p=[0.4, 0.9])], "kronecker")
    top = b.sum([pair], np.full((3, 4), 0.25))
    b.sum([top], [0.2, 0.3, 0.5])
    return b.build()


def test_work_counted():
    work = cost._work(layer(_sparse()))
    assert work["slot"] == 3 and work["sum_row"] == 1 and work["dense_input"] == 0
    work = cost._work(layer(_dense()))
    # one einsum of 3 units over one pair of 2 x 2 units, then the root's kernel sum
    assert work["dense_block"] == 1 and work["dense_input"] == 4 and work["dense_output"] == 3
    assert work["dense_weight"] == 4 * (3 + 1) and work["slot"] == 3


def test_einsum_blocks_switch_the_priced_pass():
    ones = Costs(1.0, 0, 0, 0, 0, 0, 0, 0)
    tens = Costs(10.0, 0, 0, 0, 0, 0, 0, 0)
    constants = Constants("test", ones, ones, tens, tens)
    assert predict(_sparse(), constants, batch=1000).forward_ms == pytest.approx(3e-3)
    assert predict(_dense(), constants, batch=1000).forward_ms == pytest.approx(3e-2)


def test_measured_is_cached(tmp_path, monkeypatch):
    calls = []

    def fake(engine: str) -> Constants:
        calls.append(engine)
        return DEFAULTS["native"]

    monkeypatch.setattr(cost, "calibrate", fake)
    monkeypatch.setenv("PCC_CACHE_DIR", str(tmp_path))
    first = cost.measured("native")
    again = cost.measured("native")
    assert calls == ["native"] and first == again
    assert first.forward == DEFAULTS["native"].forward
    saved = json.loads((tmp_path / "vectorize_cost.json").read_text())
    assert saved["native"]["einsum_train"] == asdict(DEFAULTS["native"].einsum_train)


def test_calibrate_runs():
    pytest.importorskip("torch")
    constants = cost.calibrate("native", batch=64, repeats=1)
    for costs in (constants.forward, constants.train, constants.einsum_forward,
                  constants.einsum_train):
        assert all(math.isfinite(v) and v >= 0 for v in asdict(costs).values())
    assert constants.source.startswith("measured ")
