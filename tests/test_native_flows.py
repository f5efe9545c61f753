"""The native engine's backward pass (flows) against the torch engine's autograd: parameter
gradients, EM's expected counts and statistics, on hypothesis circuits (DAG sharing, exact
zero weights, every family, missing values) and the shipped circuits; and the engine choice."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pcc.backends.native.library import kernel
from pcc.backends.torch import EngineError, compile
from pcc.learn.em import EM
from tests.strategies import circuits, data_for
from tests.test_torch_fused import sparse_circuits
from tests.torch_helpers import CPU_ENGINES, assert_logs_close

needs_kernel = pytest.mark.skipif(kernel() is None, reason="no C compiler: no native engine")


def _gradients(circuit, x, engine: str, dtype=torch.float64):
    model = compile(circuit, dtype=dtype, engine=engine)
    ll = model(x)
    finite = torch.isfinite(ll)
    ll[finite].sum().backward()
    return ll.detach(), {name: p.grad for name, p in model.named_parameters()}, model


def _assert_same_gradients(circuit, x, dtype=torch.float64, rtol=1e-9):
    ll_t, grads_t, _ = _gradients(circuit, x, "torch", dtype)
    ll_n, grads_n, model = _gradients(circuit, x, "native", dtype)
    assert model.engine == "native"
    assert_logs_close(ll_n, ll_t.numpy(), rtol)
    assert grads_t.keys() == grads_n.keys()
    for name, g in grads_t.items():
        h = grads_n[name]
        assert (g is None) == (h is None), name
        if g is not None:
            assert not torch.isnan(h).any(), name
            scale = torch.clamp(g.abs(), min=1.0)
            assert ((g - h).abs() / scale).max() <= rtol, (name, g, h)


@needs_kernel
@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from([1, 5, 200]))
def test_flows_equal_autograd_on_sparse_circuits(data, rows):
    """Every step native: forward and backward a tile at a time (several tiles at 200 rows)."""
    circuit = data.draw(sparse_circuits())
    x = data.draw(data_for(circuit, max_rows=5))
    _assert_same_gradients(circuit, x[np.arange(rows) % len(x)])


@needs_kernel
@settings(max_examples=40, deadline=None)
@given(st.data())
def test_flows_equal_autograd_on_every_kind_of_circuit(data):
    """Dense and Kronecker blocks run their torch backward between native runs of steps."""
    circuit = data.draw(circuits(max_units=3))
    _assert_same_gradients(circuit, data.draw(data_for(circuit, max_rows=5)))


@needs_kernel
@settings(max_examples=15, deadline=None)
@given(st.data())
def test_flows_in_float32_stay_close(data):
    circuit = data.draw(sparse_circuits())
    x = data.draw(data_for(circuit, max_rows=5))
    _assert_same_gradients(circuit, x, torch.float32, rtol=2e-4)


@needs_kernel
@settings(max_examples=25, deadline=None)
@given(st.data())
def test_em_statistics_by_flows_equal_those_by_autograd(data):
    circuit = data.draw(circuits(max_units=3))
    x = data.draw(data_for(circuit, max_rows=5))
    models = [compile(circuit, dtype=torch.float64, engine=e) for e in ("torch", "native")]
    try:
        ems = [EM(m, prior=0.1) for m in models]
        lls = [em.accumulate(torch.as_tensor(x)) for em in ems]
    except (ValueError, FloatingPointError):  # a family EM cannot train (histograms), or a
        assume(False)                         # row of probability zero: both refuse it
    assert abs(lls[0] - lls[1]) <= 1e-9 * max(1.0, abs(lls[0]))
    for a, b in zip(ems[0].counts, ems[1].counts):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)
    assert ems[0].stats.keys() == ems[1].stats.keys()
    for i, stats in ems[0].stats.items():
        for a, b in zip(stats, ems[1].stats[i]):
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


@needs_kernel
def test_a_shipped_psdd_has_the_same_gradients_on_both_engines(shared_data):
    from pcc.io.formats import load_circuit

    circuit = load_circuit(shared_data / "circuits" / "psdd" / "nltcs.psdd")
    x = np.random.default_rng(0).integers(0, 2, (300, len(circuit.domains))).astype(float)
    x[::4, 3] = np.nan
    _assert_same_gradients(circuit, x)


def test_the_engine_is_chosen_once_and_named():
    from pcc.ir import BINARY, CircuitBuilder

    b = CircuitBuilder([BINARY])
    b.sum([b.bernoulli(0, [0.3, 0.6])], weights=[[0.5, 0.5]])
    circuit = b.build()
    assert compile(circuit, engine="torch").engine == "torch"
    auto = compile(circuit)
    assert auto.requested_engine == "auto"
    assert auto.engine == ("native" if kernel() is not None else "torch")
    assert f"engine={auto.engine}" in repr(auto)
    with pytest.raises(ValueError, match="engine must be one of auto, native, torch"):
        compile(circuit, engine="fast")  # type: ignore[arg-type]
    if kernel() is not None:
        native = compile(circuit, engine="native")
        native.to("meta")
        with pytest.raises(EngineError, match="the native engine runs on the CPU"):
            native.engine


def test_the_cli_names_the_engine_and_takes_one(capsys, tmp_path):
    from pcc.cli.main import main
    from pcc.io import save_circuit
    from pcc.ir import BINARY, CircuitBuilder

    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.product([b.bernoulli(0, [0.3, 0.6]), b.bernoulli(1, [0.2, 0.9])])],
          weights=[[0.5, 0.5]])
    path, data = tmp_path / "c.pcc", tmp_path / "d.csv"
    save_circuit(b.build(), path)
    data.write_text("0,1\n1,1\n")
    lls = {}
    for engine in ("torch", *(["native"] if kernel() is not None else [])):
        assert main(["eval", str(path), "--data", str(data), "--engine", engine]) == 0
        out = capsys.readouterr().out
        assert f"(torch backend, {engine} engine, float64 on cpu)" in out
        lls[engine] = [line for line in out.splitlines() if "mean log-likelihood" in line]
    assert len({tuple(v) for v in lls.values()}) == 1
    assert main(["info", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("engine: ")
    with pytest.raises(SystemExit):
        main(["eval", str(path), "--data", str(data), "--engine", "fast"])
    assert "invalid choice: 'fast'" in capsys.readouterr().err


@pytest.mark.parametrize("engine", CPU_ENGINES)
def test_two_threads_may_call_one_model(engine):
    """No state shared between calls: each thread's results equal the one-thread ones."""
    from concurrent.futures import ThreadPoolExecutor

    from pcc.regions import build_circuit, random_binary_trees

    rng = np.random.default_rng(0)
    sparse = build_circuit(random_binary_trees(12, depth=3, repetitions=6, seed=0), units=1)
    dense = build_circuit(random_binary_trees(6, depth=2, repetitions=2, seed=0), units=3)
    for circuit in (sparse, dense):  # every step native (tiled); einsum blocks between
        model = compile(circuit, dtype=torch.float64, engine=engine)
        batches = [rng.integers(0, 2, (3000 + 50 * i, len(circuit.domains))).astype(float)
                   for i in range(6)]

        def evaluate(x):  # no_grad is per thread
            with torch.no_grad():
                return model(x)

        want = [evaluate(x) for x in batches]
        with ThreadPoolExecutor(3) as pool:
            got = list(pool.map(evaluate, batches * 3))
        for g, w in zip(got, want * 3):
            # a worker thread may split a call over other threads than this one: its tiles,
            # and so its roundings, can differ by an ulp
            assert torch.allclose(g, w, rtol=1e-13, atol=0)


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_flows_split_over_threads_give_the_one_thread_flows(dtype):
    from pcc.regions import build_circuit, random_binary_trees

    circuit = build_circuit(random_binary_trees(12, depth=3, repetitions=6, seed=1), units=1)
    x = np.random.default_rng(2).integers(0, 2, (5000, 12)).astype(float)
    x[::5, 3] = np.nan
    model = compile(circuit, dtype=dtype, engine="native")
    xs, missing = model.domains.prepare(x, None, model.device)
    saved = torch.get_num_threads()
    got = {}
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            with torch.no_grad():
                flows = model.flows(xs, missing)
            counts = [c.clone() for c in flows.counts]
            again = model.flows(xs, missing, counts)  # added to given counts, too
            got[threads] = (flows, again.counts)
    finally:
        torch.set_num_threads(saved)
    one, _ = got[1]
    rtol = 1e-12 if dtype == torch.float64 else 1e-5
    for threads in (2, 3):
        flows, doubled = got[threads]
        assert torch.equal(flows.root, one.root) and torch.equal(flows.leaves, one.leaves)
        for a, b, c in zip(one.counts, flows.counts, doubled):
            assert torch.allclose(a, b, rtol=rtol, atol=1e-9)
            assert torch.allclose(2 * a, c, rtol=rtol, atol=1e-9)


@pytest.mark.parametrize("engine", CPU_ENGINES)
def test_a_pass_after_training_steps_reads_the_new_parameters(engine):
    """An autograd pass drops the no-grad caches; the next state must not reuse a number an
    older binding of the native program holds."""
    from pcc.backends.reference import log_likelihood
    from pcc.regions import build_circuit, random_binary_trees

    circuit = build_circuit(random_binary_trees(12, depth=3, repetitions=3, seed=0), units=1)
    x = np.random.default_rng(0).integers(0, 2, (200, 12)).astype(float)
    model = compile(circuit, dtype=torch.float64, engine=engine)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        with torch.no_grad():
            ll = model(x)
        assert_logs_close(ll, log_likelihood(model.to_circuit(), x), 1e-9)
        optimizer.zero_grad()
        (-model(x).mean()).backward()
        optimizer.step()


def test_the_package_ships_every_file_the_native_library_is_built_from():
    import fnmatch
    import tomllib
    from pathlib import Path

    from pcc.backends.native import library

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["pcc.backends.native"]
    for path in (library.HEADER, library.GAUSSIAN, *library.SOURCES):
        assert path.exists() and any(fnmatch.fnmatch(path.name, p) for p in patterns), path
