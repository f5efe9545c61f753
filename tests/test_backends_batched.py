"""pcc.backends.batched: one dispatch over both backends, in passes of bounded memory, equal to
the reference interpreter whatever the chunk size."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pcc.backends.batched as batched
from pcc.backends.batched import Backend, BackendError, log_likelihoods, mpe, sample
from pcc.backends.reference import log_likelihood
from pcc.backends.reference.queries import mpe as reference_mpe
from pcc.backends.reference.queries import sample as reference_sample
from pcc.ir import BINARY, CircuitBuilder, InvalidCircuitError
from tests.strategies import DISCRETE_DOMAINS, circuits, data_for
from tests.torch_helpers import TOLERANCE, assert_logs_close


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@settings(max_examples=30)
@given(st.data(), st.sampled_from([1, 300, 1 << 26]), st.sampled_from([None, 1, 3]))
def test_log_likelihoods_equal_the_reference_at_any_chunk_size(dtype, data, budget, batch):
    circuit = data.draw(circuits(max_units=4))
    x = data.draw(data_for(circuit, max_rows=9))
    got = log_likelihoods(circuit, x, Backend("torch", dtype, buffer_bytes=budget), batch)
    assert got.dtype == np.float64 and got.shape == (len(x),)
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[getattr(torch, dtype)])


@settings(max_examples=20)
@given(st.data())
def test_the_reference_path_in_chunks_equals_one_pass(data):
    circuit = data.draw(circuits(max_units=3))
    x = data.draw(data_for(circuit, max_rows=7))
    want = log_likelihood(circuit, x)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batched, "REFERENCE_VALUES", 1)  # one row per pass
        got = log_likelihoods(circuit, x, Backend("reference"))
        states, best = mpe(circuit, x, Backend("reference"))
    np.testing.assert_array_equal(got, want)
    want_states, want_best = reference_mpe(circuit, x)
    np.testing.assert_array_equal(states, want_states)
    np.testing.assert_array_equal(best, want_best)


@settings(max_examples=20)
@given(st.data())
def test_torch_mpe_in_small_passes_matches_the_reference(data):
    circuit = data.draw(circuits(domains=DISCRETE_DOMAINS, max_units=3))
    x = data.draw(data_for(circuit, max_rows=6))
    states, best = mpe(circuit, x, Backend("torch", buffer_bytes=1))
    _, want_best = reference_mpe(circuit, x)
    observed = ~np.isnan(x)
    np.testing.assert_array_equal(states[observed], x[observed])
    assert_logs_close(best, want_best, 1e-9)
    # the states are a maximizer: their max-product value is the best one
    _, again = reference_mpe(circuit, states)
    assert_logs_close(again, want_best, 1e-9)


def _mixture():
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.product([b.bernoulli(0, 0.2), b.bernoulli(1, 0.9)]),
           b.product([b.bernoulli(0, 0.7), b.bernoulli(1, 0.1)])], weights=[0.4, 0.6])
    return b.build()


@pytest.mark.parametrize("name", ["torch", "reference"])
def test_sample_keeps_evidence_and_repeats_with_the_seed(name):
    circuit = _mixture()
    evidence = np.array([[1.0, np.nan]] * 50 + [[np.nan, np.nan]] * 50)
    first = sample(circuit, evidence, Backend(name), seed=3)
    assert first.shape == evidence.shape and not np.isnan(first).any()
    assert (first[:50, 0] == 1).all() and set(np.unique(first)) <= {0.0, 1.0}
    np.testing.assert_array_equal(first, sample(circuit, evidence, Backend(name), seed=3))
    if name == "reference":  # one pass: the reference's own draws for the seed
        np.testing.assert_array_equal(
            first, reference_sample(circuit, evidence, np.random.default_rng(3)))


def test_queries_refuse_invalid_circuits_and_empty_data_gives_no_rows():
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.bernoulli(0, 0.3), b.bernoulli(1, 0.6)], weights=[0.5, 0.5])
    bad = b.build()
    for backend in (Backend("torch"), Backend("reference")):
        with pytest.raises(InvalidCircuitError, match="sum #2 is not smooth"):
            mpe(bad, np.zeros((1, 2)), backend)
        with pytest.raises(InvalidCircuitError, match="sum #2 is not smooth"):
            sample(bad, np.full((1, 2), np.nan), backend)
        assert log_likelihoods(_mixture(), np.zeros((0, 2)), backend).shape == (0,)


def test_backend_names_dtypes_and_devices_are_checked():
    with pytest.raises(BackendError, match="unknown backend 'numpy'; known: torch, reference"):
        Backend("numpy")
    with pytest.raises(BackendError, match="unknown dtype 'float16'"):
        Backend("torch", "float16")
    with pytest.raises(BackendError, match="device 'nodevice'"):
        Backend("torch", device="nodevice").torch_device()
    assert Backend("torch", "float32", engine="torch").describe() == \
        "torch backend, torch engine, float32 on cpu"
    with pytest.raises(BackendError, match="unknown engine 'fast'; known: auto, native, torch"):
        Backend("torch", engine="fast")
    assert Backend("reference", "float32").describe() == "reference backend, float64"


def test_the_torch_pass_keeps_to_the_budget():
    circuit = _mixture()
    model = Backend("torch", buffer_bytes=1 << 12).compile(circuit)
    assert model.buffer_bytes == 1 << 12 and model.dtype == torch.float64
