"""The fused CPU pass (the native sum kernel, products folded into their sums) and the torch
ops it replaces, both against the reference interpreter."""

import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pcc.backends.torch.module as module
from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.backends.native.fused import FusedPass
from pcc.backends.native.library import kernel
from pcc.ir import BINARY, Circuit, CircuitBuilder
from tests.strategies import circuits, data_for
from tests.torch_helpers import TOLERANCE, assert_logs_close

needs_kernel = pytest.mark.skipif(kernel() is None, reason="no C compiler: torch ops run instead")
INF = float("inf")


def test_the_kernel_is_built_where_a_compiler_is_found():
    if shutil.which("cc") is None:
        pytest.skip("no cc on this machine")
    assert kernel() is not None


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batch", [1, 37, 200])  # under, between and over multiples of the tile
def test_the_kernel_is_an_exact_log_sum_exp_of_sums(dtype, batch):
    rng = torch.Generator().manual_seed(batch)
    buf = torch.randn(50, batch, generator=rng, dtype=dtype) * 40
    buf[0] = 0.0                    # column 0 is the buffer's constant log 1 (padding)
    buf[3] = -INF                   # a column of probability zero
    buf[7, ::2] = -INF
    buf[9] = -2000.0                # far below every other term
    index = torch.randint(0, 50, (30, 5, 3), generator=rng)
    index[0] = 3                    # a row with no live input: -inf, not NaN
    index[1, :, 0] = 9
    log_w = torch.log_softmax(torch.randn(30, 5, generator=rng, dtype=dtype), 1)
    log_w[2, :3] = -INF             # exact zero weights
    out = torch.empty(30, batch, dtype=dtype)
    kernel().sums(buf, index, log_w.contiguous(), out)
    want = torch.logsumexp(buf[index].sum(2) + log_w[:, :, None], 1)
    assert torch.isneginf(out[0]).all()
    assert_logs_close(out, want.numpy(), TOLERANCE[dtype] / 10)


@needs_kernel
def test_large_blocks_split_over_threads_give_the_one_thread_values():
    rng = torch.Generator().manual_seed(0)
    buf = torch.randn(300, 500, generator=rng)
    index = torch.randint(0, 300, (1001, 3, 2), generator=rng)
    log_w = torch.log_softmax(torch.randn(1001, 3, generator=rng), 1)
    outs = []
    threads = torch.get_num_threads()
    for n in (1, 3):
        torch.set_num_threads(n)
        outs.append(torch.empty(1001, 500))
        kernel().sums(buf, index, log_w, outs[-1])
    torch.set_num_threads(threads)
    assert torch.equal(outs[0], outs[1])


@st.composite
def sparse_circuits(draw: st.DrawFn) -> Circuit:
    """LearnSPN-like circuits of one-unit groups: sums of 1..70 inputs, products of 2..6 parts,
    products of products, shared children, sums of leaves of one variable, indicator leaves
    (many -inf values)."""
    n = draw(st.integers(2, 7))
    b = CircuitBuilder([BINARY] * n)

    def node(scope: list[int], depth: int) -> int:
        if len(scope) == 1:
            v = scope[0]
            if depth < 3 and draw(st.booleans()):   # a sum of leaves of one variable
                kids = [node(scope, 3) for _ in range(draw(st.integers(1, 3)))]
                weights = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=len(kids),
                                                 max_size=len(kids)))) + 1e-3
                return b.sum(kids, weights=weights / weights.sum())
            if draw(st.booleans()):
                return b.indicator(v, draw(st.integers(0, 1)))
            return b.bernoulli(v, draw(st.floats(0.0, 1.0)))
        kind = draw(st.sampled_from(["sum", "product", "nested"])) if depth < 3 else "product"
        if kind == "sum":
            fan_in = draw(st.sampled_from([1, 2, 3, 70]))
            shared = node(scope, depth + 1)
            kids = [shared if draw(st.booleans()) else node(scope, depth + 1)
                    for _ in range(fan_in)]
            weights = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=fan_in,
                                             max_size=fan_in))) + 1e-3
            return b.sum(kids, weights=weights / weights.sum())
        if kind == "nested" and len(scope) >= 3:   # a product with a product child
            a, c = sorted(draw(st.lists(st.integers(1, len(scope) - 1), min_size=2, max_size=2,
                                        unique=True)))
            inner = b.product([node(scope[:a], depth + 1), node(scope[a:c], depth + 1)])
            return b.product([inner, node(scope[c:], depth + 1)])
        if len(scope) <= 6 and draw(st.booleans()):  # 2..6 parts
            return b.product([node([v], depth + 1) for v in scope])
        cut = draw(st.integers(1, len(scope) - 1))
        return b.product([node(scope[:cut], depth + 1), node(scope[cut:], depth + 1)])

    root = node(list(range(n)), 0)
    b.sum([root], weights=[1.0])
    return b.build()


def _fused(circuit: Circuit, dtype: torch.dtype, max_fan_in: int | None, x: np.ndarray
           ) -> torch.Tensor:
    """log p(x) by the fused pass (the native forward over a whole batch, as the native engine
    runs it where the tiled pass cannot) on its own, its kernel sums taking at most
    `max_fan_in` inputs (the wider ones run their torch op)."""
    model = compile(circuit, dtype=dtype, engine="native")
    native, program = kernel(), model.program
    fused = FusedPass(program, native, model.leaf_rows.column_vars(), max_fan_in)
    xs, missing = model.domains.prepare(x, None, model.device)
    with torch.no_grad():
        buf, rows = program.buffer(torch.empty(0, dtype=dtype), xs.shape[0], reuse=False)
        codes = model.leaf_rows.codes(xs, missing)
        model.leaf_rows.write(xs, missing, rows, codes, native)
        tables = model.leaf_rows.column_tables(dtype, buf.device) if fused.lookups else None
        fused.run(program, program.expand(tuple(t() for t in model.weight_tables())), buf,
                  codes, tables)
    out = buf[slice(*program.root)].t()
    return out[:, 0] if out.shape[1] == 1 else out


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@settings(max_examples=40)
@given(st.data(), st.sampled_from([1, 3, 64, None]))
def test_the_fused_pass_equals_the_reference_on_sparse_circuits(dtype, data, max_fan_in):
    circuit = data.draw(sparse_circuits())
    x = data.draw(data_for(circuit, max_rows=6))
    got = _fused(circuit, dtype, max_fan_in, x)
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])


@needs_kernel
@settings(max_examples=30)
@given(st.data(), st.sampled_from([1, 2, 64, None]))
def test_the_fused_pass_equals_the_reference_on_every_kind_of_circuit(data, max_fan_in):
    circuit = data.draw(circuits(max_units=3))
    x = data.draw(data_for(circuit, max_rows=5))
    got = _fused(circuit, torch.float64, max_fan_in, x)
    assert_logs_close(got, log_likelihood(circuit, x), 1e-9)


@needs_kernel
def test_products_read_only_by_sums_are_not_computed():
    b = CircuitBuilder([BINARY] * 4)
    pairs = [b.product([b.indicator(0, i), b.bernoulli(1, 0.3), b.product(
        [b.bernoulli(2, 0.6), b.indicator(3, i)])]) for i in (0, 1)]
    b.sum(pairs, weights=[0.4, 0.6])
    circuit = b.build()
    model = compile(circuit, dtype=torch.float64)
    x = np.array([[0, 1, 1, 0], [1, 0, np.nan, 0], [np.nan] * 4])
    with torch.no_grad():
        assert_logs_close(model(x), log_likelihood(circuit, x), 1e-12)
    computed = [s.op for s in model._fused.steps]
    assert not any(isinstance(op, module.ProductOp) for op in computed), model.plan


@settings(max_examples=30)
@given(st.data())
def test_without_the_kernel_the_torch_ops_give_the_reference(data):
    circuit = data.draw(circuits(max_units=3))
    x = data.draw(data_for(circuit, max_rows=5))
    with torch.no_grad():
        got = compile(circuit, dtype=torch.float64, engine="torch")(x)
    assert_logs_close(got, log_likelihood(circuit, x), 1e-9)


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_leaf_lookup_kernel_equals_a_gather(dtype):
    rng = torch.Generator().manual_seed(1)
    table = torch.randn(40, 5, generator=rng, dtype=dtype)
    table[:, 4] = 0.0                                   # the "missing" code: log 1
    codes = torch.randint(0, 5, (7, 33), generator=rng)
    var = torch.randint(0, 7, (40,), generator=rng)
    out = torch.empty(40, 33, dtype=dtype)
    kernel().lookup(table, codes, var, out)
    assert torch.equal(out, torch.gather(table, 1, codes[var]))


@needs_kernel
def test_sums_of_indicators_become_lookups():
    b = CircuitBuilder([BINARY] * 3)
    mixtures = [b.sum([b.indicator(v, 0), b.indicator(v, 1)],
                      weights=[0.3 + 0.1 * v, 0.7 - 0.1 * v]) for v in range(3)]
    b.sum([b.product(mixtures), b.product([b.bernoulli(v, 0.5) for v in range(3)])],
          weights=[0.6, 0.4])
    circuit = b.build()
    model = compile(circuit, dtype=torch.float64)
    x = np.array([[0, 1, 1], [1, np.nan, 0], [np.nan] * 3])
    with torch.no_grad():
        assert_logs_close(model(x), log_likelihood(circuit, x), 1e-12)
    assert any(s.var is not None for s in model._fused.steps)
