"""SPFlow frontends against the real package (an optional test dependency: `pip install
--no-deps spflow==0.0.48`, plus `lark` for its text parser): random SPNs with every leaf type
import with SPFlow's own log-likelihoods, through live objects and both text forms; the
documented differences behave as documented."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.backends.reference import log_likelihood
from pcc.frontends.spflow_objects import from_spflow
from pcc.frontends.spflow_text import load_spflow_text
from pcc.frontends.spflow_writer import format_equation, format_graph
from pcc.ir import FormatError

spn = pytest.importorskip("spn")
from spn.algorithms.Inference import log_likelihood as spflow_ll  # noqa: E402
from spn.io.Text import spn_to_str_equation, spn_to_str_ref_graph  # noqa: E402
from spn.structure.Base import Product, Sum, assign_ids, rebuild_scopes_bottom_up  # noqa: E402
from spn.structure.leaves.histogram.Histograms import Histogram  # noqa: E402
from spn.structure.leaves.parametric.Parametric import (  # noqa: E402
    Bernoulli, Categorical, Gaussian, Poisson)

KINDS = ["bernoulli", "categorical", "gaussian", "poisson", "histogram"]


def _simplex(draw: st.DrawFn, n: int, step: float | None = None) -> list[float]:
    if step:  # multiples of `step`: exact in SPFlow's 4-decimal histogram printer
        units = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
        total = sum(units)
        return [u / total for u in units] if total & (total - 1) == 0 else \
            [0.125 * u for u in _eighths(units)]
    raw = draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n))
    return [r / sum(raw) for r in raw]


def _eighths(units: list[int]) -> list[int]:
    """Integers summing to 8 with the same length (keeps histogram densities exact)."""
    out = [1] * len(units)
    for i in range(8 - len(units)):
        out[i % len(out)] += 1
    return out


@st.composite
def spflow_spns(draw: st.DrawFn) -> tuple[object, list[str], dict[int, int]]:
    n = draw(st.integers(1, 5))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(n)]
    sizes = {v: draw(st.integers(2, 4)) for v in range(n)}
    shared: dict[int, object] = {}

    def leaf(v: int) -> object:
        kind = kinds[v]
        if kind == "bernoulli":
            node = Bernoulli(p=draw(st.floats(0.05, 0.95)), scope=v)
        elif kind == "categorical":
            node = Categorical(p=_simplex(draw, sizes[v]), scope=v)
        elif kind == "gaussian":
            node = Gaussian(mean=draw(st.floats(-2, 2)), stdev=draw(st.floats(0.3, 3)), scope=v)
        elif kind == "poisson":
            node = Poisson(mean=draw(st.floats(0.2, 5)), scope=v)
        else:
            dens = _simplex(draw, sizes[v], step=0.125)
            node = Histogram(list(map(float, range(sizes[v] + 1))), dens,
                             [i + 0.5 for i in range(sizes[v])], scope=v)
        if draw(st.booleans()):  # reuse one leaf per variable sometimes: a DAG
            return shared.setdefault(v, node)
        return node

    def build(scope: list[int], depth: int) -> object:
        if len(scope) == 1 and (depth > 2 or draw(st.booleans())):
            return leaf(scope[0])
        if len(scope) > 1 and draw(st.booleans()):
            cut = draw(st.integers(1, len(scope) - 1))
            return Product(children=[build(scope[:cut], depth + 1), build(scope[cut:], depth + 1)])
        k = draw(st.integers(2, 3))
        return Sum(weights=_simplex(draw, k), children=[build(scope, depth + 2) for _ in range(k)])

    root = build(list(range(n)), 0)
    if not isinstance(root, (Sum, Product)):
        root = Sum(weights=[1.0], children=[root])
    assign_ids(root)
    rebuild_scopes_bottom_up(root)
    return root, kinds, sizes


def _data(kinds: list[str], sizes: dict[int, int], rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cols = []
    for v, kind in enumerate(kinds):
        if kind == "bernoulli":
            cols.append(rng.integers(0, 2, rows))
        elif kind in ("categorical", "histogram"):
            cols.append(rng.integers(0, sizes[v], rows))
        elif kind == "poisson":
            cols.append(rng.integers(0, 7, rows))
        else:
            cols.append(rng.normal(0, 2, rows))
    x = np.stack(cols, axis=1).astype(np.float64)
    x[rng.random(x.shape) < 0.15] = np.nan
    return x


@settings(max_examples=40, deadline=None)
@given(spflow_spns(), st.integers(0, 2**31))
def test_objects_and_text_match_spflow(case: tuple, seed: int) -> None:
    root, kinds, sizes = case
    x = _data(kinds, sizes, 30, seed)
    expected = spflow_ll(root, x)[:, 0]
    circuit = from_spflow(root)
    np.testing.assert_allclose(log_likelihood(circuit, x), expected, rtol=1e-10, atol=1e-10)
    for text in (spn_to_str_equation(root), spn_to_str_ref_graph(root)):
        parsed = load_spflow_text("spflow.txt", text=text)
        np.testing.assert_allclose(log_likelihood(parsed, x[:, :parsed.num_vars]), expected,
                                   rtol=1e-10, atol=1e-10)
    for text in (format_equation(circuit), format_graph(circuit)):  # pcc's writers round-trip
        again = load_spflow_text("pcc.txt", text=text)
        np.testing.assert_allclose(log_likelihood(again, x), expected, rtol=1e-10, atol=1e-10)


def test_spflow_reads_what_pcc_writes() -> None:
    pytest.importorskip("lark")
    from spn.io.Text import str_to_spn
    from spn.structure.leaves.histogram.Text import add_histogram_text_support
    from spn.structure.leaves.parametric.Text import add_parametric_text_support

    add_parametric_text_support()
    add_histogram_text_support()
    root = Sum(weights=[0.4, 0.6], children=[
        Product(children=[Bernoulli(p=0.3, scope=0), Gaussian(mean=1.0, stdev=2.0, scope=1),
                          Histogram([0.0, 1.0, 2.0], [0.25, 0.75], [0.5, 1.5], scope=2)]),
        Product(children=[Bernoulli(p=0.9, scope=0), Gaussian(mean=-1.0, stdev=0.5, scope=1),
                          Histogram([0.0, 1.0, 2.0], [0.5, 0.5], [0.5, 1.5], scope=2)])])
    assign_ids(root)
    rebuild_scopes_bottom_up(root)
    x = np.array([[0, 0.3, 1], [1, np.nan, 0], [np.nan, -2.0, np.nan]])
    again = str_to_spn(format_equation(from_spflow(root)))
    np.testing.assert_allclose(spflow_ll(again, x), spflow_ll(root, x), rtol=1e-12)


def test_shared_children_stay_one_group() -> None:
    leaf = Gaussian(mean=0.0, stdev=1.0, scope=1)
    root = Sum(weights=[0.5, 0.5], children=[
        Product(children=[Bernoulli(p=0.2, scope=0), leaf]),
        Product(children=[Bernoulli(p=0.7, scope=0), leaf])])
    assign_ids(root)
    rebuild_scopes_bottom_up(root)
    circuit = from_spflow(root)
    assert len(circuit) == 6
    assert sum(1 for g in circuit if g.kind == "input" and g.family == "gaussian") == 1


def test_documented_differences_from_spflow() -> None:
    """docs/frontends.md: pcc never clamps, and never gives probability 1 outside a table."""
    from pcc.data import DataFile, check_columns

    cat = Categorical(p=[0.4, 0.6], scope=0)
    hist = Histogram([0.0, 1.0, 2.0], [0.5, 0.5], [0.5, 1.5], scope=1)
    bern = Bernoulli(p=1.0, scope=2)
    root = Product(children=[cat, hist, bern])
    assign_ids(root)
    rebuild_scopes_bottom_up(root)
    circuit = from_spflow(root)
    # a Categorical value past the table: SPFlow says probability 1, pcc's domain check reports it
    x = np.array([[2.0, 0.0, 1.0]])
    assert spflow_ll(Product(children=[cat]), x[:, :1])[0, 0] == 0.0
    data = DataFile("d.csv", x, None, None, np.array([1]))
    with pytest.raises(FormatError, match="outside the domain binary"):
        check_columns(data, circuit.domains)
    # a histogram value outside its breaks: SPFlow floors the density at EPSILON, pcc gives -inf
    x = np.array([[0.0, 5.0, 1.0]])
    assert np.isclose(spflow_ll(root, x)[0, 0], np.log(0.4) + np.log(np.finfo(float).eps))
    assert log_likelihood(circuit, x)[0] == -np.inf
    # Bernoulli(p=1) at 0: SPFlow clamps log 0 to the smallest float, pcc keeps -inf
    x = np.array([[0.0, 0.0, 0.0]])
    assert spflow_ll(root, x)[0, 0] == np.finfo(float).min
    assert log_likelihood(circuit, x)[0] == -np.inf


def test_unsupported_leaf_is_reported() -> None:
    from spn.structure.leaves.parametric.Parametric import Exponential

    root = Product(children=[Exponential(l=1.0, scope=0), Bernoulli(p=0.5, scope=1)])
    assign_ids(root)
    rebuild_scopes_bottom_up(root)
    with pytest.raises(FormatError, match="SPFlow ExponentialNode_1: pcc does not support "
                                          "SPFlow leaf type Exponential"):
        from_spflow(root)
