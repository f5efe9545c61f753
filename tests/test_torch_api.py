"""The torch module's API: conditionals, marginals, the way back to the IR, state, bad input."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.backends.reference import log_likelihood
from pcc.backends.reference.queries import mpe as reference_mpe
from pcc.backends.torch import compile
from pcc.ir import BINARY, REAL, CircuitBuilder, DataError, InvalidCircuitError, categorical
from pcc.layering import NEG_INF_COLUMN
from tests.strategies import DISCRETE_DOMAINS, all_assignments, circuits, data_for
from tests.torch_helpers import CPU_ENGINES, assert_logs_close, kron_circuits


@settings(max_examples=20)
@given(st.data())
def test_log_conditional_sums_to_one_over_the_query_values(data):
    circuit = data.draw(circuits(domains=DISCRETE_DOMAINS, max_vars=3))
    model = compile(circuit, dtype=torch.float64)
    n = circuit.num_vars
    query = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    evidence = [v for v in range(n) if v not in query and data.draw(st.booleans())]
    grid = all_assignments(circuit)
    row = grid[data.draw(st.integers(0, len(grid) - 1))]
    rows = grid[np.all(grid[:, evidence] == row[evidence], axis=1)]   # every query completion
    rows = np.unique(np.where(np.isin(np.arange(n), query + evidence), rows, 0), axis=0)
    cond = model.log_conditional(rows, query=query, evidence=evidence).detach().numpy()
    if np.isfinite(log_likelihood(circuit, np.where(np.isin(np.arange(n), evidence), row,
                                                    np.nan)[None]))[0]:
        assert np.exp(cond).sum() == pytest.approx(1.0, rel=1e-9)
    else:
        assert np.isnan(cond).all()        # p(e) = 0: the conditional is undefined


@settings(max_examples=20)
@given(st.data())
def test_log_marginal_equals_the_reference_with_the_rest_missing(data):
    circuit = data.draw(circuits())
    x = data.draw(data_for(circuit, max_rows=4, missing=False))
    keep = data.draw(st.lists(st.booleans(), min_size=circuit.num_vars,
                              max_size=circuit.num_vars))
    got = compile(circuit, dtype=torch.float64).log_marginal(x, np.array(keep))
    assert_logs_close(got, log_likelihood(circuit, np.where(keep, x, np.nan)), 1e-9)


@settings(max_examples=20)
@given(st.data())
def test_to_circuit_round_trips_the_parameters(data):
    circuit = data.draw(circuits(max_units=4))
    x = data.draw(data_for(circuit, max_rows=4))
    back = compile(circuit, dtype=torch.float64).to_circuit()
    assert_logs_close(log_likelihood(back, x), log_likelihood(circuit, x), 1e-12)
    for g, h in zip(circuit.groups, back.groups):
        assert (g.kind, g.units, g.children) == (h.kind, h.units, h.children)
        if g.kind == "sum":
            assert np.array_equal(g.weights == 0, h.weights == 0)   # structural zeros kept
            assert np.allclose(g.weights, h.weights, rtol=1e-12, atol=1e-15)


def mixture():
    b = CircuitBuilder([BINARY, REAL, categorical(3)])
    left = b.product([b.bernoulli(0, [0.2, 0.7]), b.gaussian(1, [0.0, 1.0], [1.0, 0.5]),
                      b.categorical(2, [[0.2, 0.3, 0.5], [0.6, 0.0, 0.4]])])
    b.sum([left], weights=[[0.25, 0.75]])
    return b.build()


def test_training_changes_parameters_and_to_circuit_carries_them():
    circuit = mixture()
    model = compile(circuit, dtype=torch.float64)
    x = np.array([[1, 0.9, 2], [1, 1.2, 0], [0, -0.5, 2]])
    before = model(x).sum().item()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(20):
        optimizer.zero_grad()
        (-model(x).sum()).backward()
        optimizer.step()
    after = model(x).sum().item()
    assert after > before
    trained = model.to_circuit()
    assert_logs_close(log_likelihood(trained, x), model(x).detach().numpy(), 1e-12)
    assert trained.root.weights.sum() == pytest.approx(1.0, abs=1e-12)   # still normalized
    assert trained.groups[2].params["probs"][1, 1] == 0.0                 # zero kept


def test_state_dict_loads_into_a_fresh_compile():
    x = np.array([[1, 0.9, 2], [0, -0.5, 1]])
    trained = compile(mixture(), dtype=torch.float64)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.1)
    fresh = compile(mixture(), dtype=torch.float64)
    fresh.load_state_dict(trained.state_dict())
    assert torch.equal(fresh(x), trained(x))
    assert all(not k.endswith("index") for k in trained.state_dict())


def test_to_device_and_dtype_follow():
    model = compile(mixture(), dtype=torch.float32, device="cpu")
    assert model.device.type == "cpu"
    assert model(np.zeros((2, 3))).dtype == torch.float32
    with pytest.raises(ValueError, match="dtype must be torch.float32 or torch.float64"):
        compile(mixture(), dtype=torch.float16)


def test_an_invalid_circuit_is_refused_with_the_check_report():
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.bernoulli(0, 0.5), b.bernoulli(1, 0.5)], weights=[0.5, 0.5])
    circuit = b.build()
    with pytest.raises(InvalidCircuitError, match=r"sum #2 is not smooth: child #0 has scope "
                                                  r"\{0\}, child #1 has scope \{1\}"):
        compile(circuit)
    model = compile(circuit, dtype=torch.float64, allow_invalid=True)
    assert_logs_close(model(np.array([[0, 1]])), log_likelihood(circuit, [[0, 1]]), 1e-12)


def test_a_non_decomposable_circuit_is_refused_naming_the_product():
    b = CircuitBuilder([BINARY])
    b.product([b.bernoulli(0, 0.5), b.bernoulli(0, 0.5)])
    with pytest.raises(InvalidCircuitError, match=r"product #2 is not decomposable"):
        compile(b.build())


@pytest.mark.parametrize("data, message", [
    ([[0, 1]], "data has 2 columns but the circuit has 3 variables"),
    ([[0, 0.5, 3]], r"row 0, column 2 \(x2\): value 3.0 is outside the domain categorical\(3\)"),
    ([[0, 0.5, 0], [2, 0, 0]], r"row 1, column 0 \(x0\): value 2.0 is outside the domain binary"),
    ([[0, np.inf, 0]], r"row 0, column 1 \(x1\): value inf is outside the domain real"),
    (torch.tensor([[0.5, 0.0, 0.0]]), r"row 0, column 0 \(x0\): value 0.5 is outside"),
    ([["a", 0, 0]], "data must be a numeric matrix"),
])
def test_bad_data_names_row_column_and_domain(data, message):
    with pytest.raises(DataError, match=message):
        compile(mixture())(data)


def test_a_bad_mask_or_variable_list_is_a_data_error():
    model = compile(mixture())
    with pytest.raises(DataError, match=r"mask must have shape \(3,\) or \(1, 3\)"):
        model(np.zeros((1, 3)), mask=np.zeros(2, dtype=bool))
    with pytest.raises(DataError, match=r"variable ids must lie in 0..2"):
        model.log_marginal(np.zeros((1, 3)), [5])


def test_a_value_of_probability_zero_in_the_domain_gives_minus_infinity():
    b = CircuitBuilder([categorical(3), REAL])
    b.product([b.categorical(0, [[0.5, 0.0, 0.5]]),
               b.histogram(1, breaks=[[0.0, 1.0, 2.0]], densities=[[0.5, 0.5]])])
    circuit = b.build()
    x = np.array([[1, 0.5], [0, 2.5], [0, 1.5], [np.nan, -1.0]])
    ll = compile(circuit, dtype=torch.float64)(x)
    assert ll.isneginf().tolist() == [True, True, False, True]
    assert_logs_close(ll, log_likelihood(circuit, x), 1e-12)


# -- the one forward entry: CompiledCircuit.run ---------------------------------------------------
def _paths(model, x):
    """The root values of `run` by each of its paths, named."""
    xs, missing = model.domains.prepare(x, None, model.device)
    with torch.no_grad():
        fast = model.run(xs, missing).root
        kept = model.run(xs, missing, keep_buffer=True)
    autograd = model.run(xs, missing)                    # the parameters require grad
    tapped = model.run(xs, missing, tap_leaves=True, keep_buffer=True)
    assert autograd.root.requires_grad and tapped.leaves.requires_grad
    start, stop = model.program.root
    assert torch.equal(kept.buffer[start:stop].t(), kept.root)
    leaf_rows = slice(NEG_INF_COLUMN + 1, NEG_INF_COLUMN + 1 + model.plan.num_inputs)
    assert torch.allclose(kept.buffer[leaf_rows], tapped.leaves.detach(), rtol=1e-12)
    return {"fast": fast, "kept": kept.root, "autograd": autograd.root.detach(),
            "tapped": tapped.root.detach()}


@pytest.mark.parametrize("engine", CPU_ENGINES)
@settings(max_examples=25)
@given(st.data())
def test_every_path_of_the_forward_entry_gives_the_reference(engine, data):
    circuit = data.draw(st.one_of(circuits(max_units=3), kron_circuits()))
    x = data.draw(data_for(circuit, max_rows=5))
    want = log_likelihood(circuit, x)
    for name, got in _paths(compile(circuit, dtype=torch.float64, engine=engine), x).items():
        assert_logs_close(got[:, 0], want, 1e-9), name


@pytest.mark.parametrize("engine", CPU_ENGINES)
@settings(max_examples=25)
@given(st.data())
def test_the_max_product_pass_gives_the_reference_mpe_values(engine, data):
    circuit = data.draw(st.one_of(circuits(max_units=3), kron_circuits()))
    x = data.draw(data_for(circuit, max_rows=5))
    _, want = reference_mpe(circuit, x)
    model = compile(circuit, dtype=torch.float64, engine=engine)
    xs, missing = model.domains.prepare(x, None, model.device)
    up = model.run(xs, missing, semiring="max-product", keep_buffer=True)
    assert not up.root.requires_grad
    assert_logs_close(up.root[:, 0], want, 1e-9)
    given_modes = model.run(xs, missing, semiring="max-product", at_mode=model.mode_values())
    assert torch.equal(given_modes.root, up.root)


def test_the_forward_entry_refuses_unknown_semirings_and_taps_it_cannot_give():
    model = compile(mixture(), dtype=torch.float64)
    xs, missing = model.domains.prepare([[0.0, 1.0, 2.0]], None, model.device)
    with pytest.raises(ValueError, match="semiring must be one of sum-product, max-product, "
                                         "got 'min-sum'"):
        model.run(xs, missing, semiring="min-sum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tap_leaves needs the sum-product semiring"):
        model.run(xs, missing, semiring="max-product", tap_leaves=True)
