"""Leaves written by the native kernel (Gaussian; histograms with unit or uneven bins) and the
torch engine's ops (engine="torch"), both against the reference interpreter."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pcc.backends.native.leaves as native_leaves
from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.backends.native.library import kernel
from pcc.ir import BINARY, REAL, Circuit, CircuitBuilder, categorical
from tests.torch_helpers import TOLERANCE, assert_logs_close

needs_kernel = pytest.mark.skipif(kernel() is None, reason="no C compiler: torch ops run instead")


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("with_missing", [False, True])
def test_the_gaussian_kernel_is_the_log_density(dtype, with_missing):
    rng = torch.Generator().manual_seed(3)
    xt = torch.randn(4, 75, generator=rng, dtype=torch.float64) * 5
    var = torch.tensor([0, 3, 3, 1, 2, 0])
    mean = torch.randn(6, generator=rng, dtype=torch.float64)
    std = torch.rand(6, generator=rng, dtype=torch.float64) + 0.1
    missing = (torch.rand(4, 75, generator=rng) < 0.3).to(torch.uint8) if with_missing else None
    out = torch.empty(6, 75, dtype=dtype)
    kernel().gaussian(mean, 1 / std, -torch.log(std) - 0.5 * np.log(2 * np.pi), xt, missing,
                      var, out)
    want = torch.distributions.Normal(mean[:, None], std[:, None]).log_prob(xt[var])
    if missing is not None:
        want = torch.where(missing[var].bool(), 0.0, want)
    assert_logs_close(out, want.numpy(), TOLERANCE[dtype] / 10)


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("width", range(1, 42))
def test_value_table_lookups_read_each_code_s_entry(dtype, width):
    """Every width the lookups meet (in-register permutes up to 32 floats or 8 doubles, selects
    or gathers beyond), every code, a batch that is not a whole number of vectors, and the last
    row at the very end of its table."""
    rng = np.random.default_rng(width)
    rows, variables, batch = 5, 3, 67
    table = torch.tensor(rng.normal(size=(rows, width)), dtype=dtype)
    codes = rng.integers(0, width, (variables, batch)).astype(np.int32)
    codes[:, :width] = np.arange(width)    # every code
    var = rng.integers(0, variables, rows)  # int64
    out = torch.full((rows, batch), float("nan"), dtype=dtype)
    lookup = kernel().functions["lookup32", dtype]  # type: ignore[union-attr]
    lookup(table.data_ptr(), width, codes.ctypes.data, batch, var.ctypes.data, rows, 0,
           out.data_ptr())
    expected = table.numpy()[np.arange(rows)[:, None], codes[var]]
    np.testing.assert_array_equal(out.numpy(), expected)
    # added to what is there (a leaf read in place by a product)
    lookup(table.data_ptr(), width, codes.ctypes.data, batch, var.ctypes.data, rows, 1,
           out.data_ptr())
    np.testing.assert_array_equal(out.numpy(), expected + expected)


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_bin_search_is_numpys_searchsorted(dtype):
    # rows of 1, 2 and 5 bins, padded with +inf; values on every break, between, outside
    breaks = np.full((3, 6), np.inf)
    breaks[0, :2] = [0.5, 2.0]
    breaks[1, :3] = [-1.0, 0.0, 4.0]
    breaks[2, :] = [0.0, 1.0, 2.0, 4.0, 74.0, 75.0]    # spn-compiler's uneven edges
    bins = torch.tensor([1, 2, 5])
    values = np.array([-2, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 5, 73.9, 74, 74.5, 75, 80.0])
    xt = torch.tensor(values)[None, :].contiguous()
    rng = torch.Generator().manual_seed(0)
    log_density = torch.randn(3, 5, generator=rng, dtype=dtype)
    missing = torch.zeros(1, len(values), dtype=torch.uint8)
    missing[0, 3] = 1
    out = torch.empty(3, len(values), dtype=dtype)
    kernel().search_bins(log_density, torch.tensor(breaks), bins, xt, missing,
                         torch.zeros(3, dtype=torch.long), out)
    for r in range(3):
        k = np.searchsorted(breaks[r, :int(bins[r]) + 1], values, side="right") - 1
        inside = (k >= 0) & (k < int(bins[r]))
        want = np.where(inside, log_density[r].double().numpy()[np.clip(k, 0, 4)], -np.inf)
        want[3] = 0.0
        assert np.array_equal(out[r].double().numpy(), want), (r, out[r], want)


@st.composite
def learned_like(draw: st.DrawFn) -> tuple[Circuit, np.ndarray]:
    """LearnSPN-shaped circuits (sums of products of leaves or sub-trees) over real, binary and
    categorical variables with Gaussian, histogram (unit or uneven breaks), categorical and
    Bernoulli leaves; and rows that hit the histograms' breaks exactly, with NaN."""
    n = draw(st.integers(1, 5))
    kinds = draw(st.lists(st.sampled_from(["real", "binary", "cat"]), min_size=n, max_size=n))
    domains = [REAL if k == "real" else BINARY if k == "binary" else categorical(5)
               for k in kinds]
    b = CircuitBuilder(domains)
    edges: dict[int, list[float]] = {v: [] for v in range(n)}

    def leaf(v: int) -> int:
        if kinds[v] == "real" and draw(st.booleans()):
            return b.gaussian(v, mean=[draw(st.floats(-3, 3))], std=[draw(st.floats(0.2, 3))])
        if kinds[v] == "binary" and draw(st.booleans()):
            return b.bernoulli(v, p=[draw(st.floats(0.0, 1.0))])
        if kinds[v] == "cat" and draw(st.booleans()):
            p = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5))) + 1e-3
            return b.categorical(v, probs=(p / p.sum())[None, :])
        if kinds[v] == "real" or draw(st.booleans()):   # uneven breaks
            steps = draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 70.0]), min_size=1,
                                  max_size=5))
            start = float(draw(st.integers(-2, 1)))
            breaks = np.concatenate([[start], start + np.cumsum(steps)])
        else:                                           # unit breaks over the values
            breaks = np.arange(domains[v].size + 1, dtype=float)
        edges[v].extend(breaks)
        mass = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=len(breaks) - 1,
                                      max_size=len(breaks) - 1)))
        return b.histogram(v, breaks=breaks[None, :],
                           densities=(mass / mass.sum() / np.diff(breaks))[None, :])

    def node(scope: list[int], depth: int) -> int:
        if len(scope) == 1 and (depth > 2 or draw(st.booleans())):
            return leaf(scope[0])
        if depth > 2 or draw(st.booleans()):   # a product over a partition of the scope
            if len(scope) == 1:
                return b.product([leaf(scope[0])])
            cut = draw(st.integers(1, len(scope) - 1))
            return b.product([node(scope[:cut], depth + 1), node(scope[cut:], depth + 1)])
        kids = [node(scope, depth + 1) for _ in range(draw(st.integers(1, 4)))]
        w = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=len(kids),
                                   max_size=len(kids)))) + 1e-3
        return b.sum(kids, weights=w / w.sum())

    root = node(list(range(n)), 0)
    b.sum([root], weights=[1.0])
    circuit = b.build()
    rows = draw(st.integers(1, 70))
    columns = []
    for v, kind in enumerate(kinds):
        if kind == "real":
            values = st.one_of(st.floats(-4, 80), st.sampled_from(edges[v] or [0.0]))
        else:
            values = st.integers(0, 1 if kind == "binary" else 4).map(float)
        values = st.one_of(values, st.just(float("nan")))
        columns.append(draw(st.lists(values, min_size=rows, max_size=rows)))
    return circuit, np.array(columns, dtype=np.float64).T.reshape(rows, n)


def _counting(monkeypatch) -> list[str]:
    """The names of the families the leaf kernel is given (`native_leaves.native_leaf`, which
    both the tiled and the fused pass ask), recorded as it runs."""
    filled: list[str] = []
    native_leaf = native_leaves.native_leaf

    def counted(family, dtype):
        leaf = native_leaf(family, dtype)
        if leaf is not None:
            filled.append(type(family).__name__)
        return leaf

    monkeypatch.setattr(native_leaves, "native_leaf", counted)
    return filled


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@settings(max_examples=40)
@given(st.data())
def test_native_leaves_equal_the_reference(dtype, data):
    circuit, x = data.draw(learned_like())
    with torch.no_grad():
        got = compile(circuit, dtype=dtype)(x)
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])


@settings(max_examples=30)
@given(st.data())
def test_without_the_kernel_the_torch_leaves_give_the_reference(data):
    circuit, x = data.draw(learned_like())
    with torch.no_grad():
        got = compile(circuit, dtype=torch.float64, engine="torch")(x)
    assert_logs_close(got, log_likelihood(circuit, x), 1e-9)


@needs_kernel
def test_gaussian_and_uneven_histogram_leaves_take_the_native_path(monkeypatch):
    b = CircuitBuilder([REAL, REAL])
    g = b.gaussian(0, mean=[0.5, -1.0], std=[1.0, 2.0])
    h = b.histogram(1, breaks=np.array([[0.0, 1.0, 2.0, 4.0, 74.0, 75.0]] * 2),
                    densities=np.array([[0.1, 0.2, 0.1, 0.001, 0.03]] * 2))
    b.sum([b.product([g, h])], weights=np.array([[0.3, 0.7]]))
    circuit = b.build()
    filled = _counting(monkeypatch)
    x = np.array([[0.1, 0.0], [np.nan, 74.0], [3.0, 75.0], [-2.0, np.nan], [1.0, 3.9]])
    with torch.no_grad():
        got = compile(circuit, dtype=torch.float64)(x)
    assert_logs_close(got, log_likelihood(circuit, x), 1e-12)
    assert sorted(filled) == ["Gaussian", "Histogram"]
    filled.clear()
    model = compile(circuit, dtype=torch.float64)
    # with autograd too: the leaf rows from the kernel, the parameters' gradients made in the
    # backward (`Family.parameter_grads`)
    (-model(x[:1]).sum()).backward()
    assert sorted(filled) == ["Gaussian", "Histogram"]
    assert model.family_list[0].mean.grad is not None
