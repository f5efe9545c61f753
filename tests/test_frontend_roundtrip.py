"""Round trips through every writer (.psdd/.vtree, .jpc, SPFlow text, .pcc): same circuit shape
and the same log-likelihoods; what a format cannot hold is refused with a FormatError."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from pcc.backends.reference import log_likelihood
from pcc.frontends.jpc import format_jpc, load_jpc, save_jpc
from pcc.frontends.psdd import read_psdd
from pcc.frontends.psdd_writer import format_psdd, save_psdd
from pcc.frontends.spflow_text import load_spflow_text
from pcc.frontends.spflow_writer import format_equation, format_graph
from pcc.frontends.vtree_file import format_vtree, load_vtree, read_vtree
from pcc.io import load_circuit, load_pcc, save_circuit, save_pcc
from pcc.ir import BINARY, CircuitBuilder, FormatError, categorical
from tests.frontend_data import batched_ll, cached_load, circuit_path, twenty
from tests.helpers import assert_same_circuit


def test_vtree_round_trip() -> None:
    for name in ("little_4var", "nltcs", "plants", "tretail"):
        tree = load_vtree(circuit_path(f"psdd/{name}.vtree"))
        again, _ = read_vtree("again.vtree", format_vtree(tree))
        assert again.to_nested() == tree.to_nested()


@pytest.mark.parametrize("with_vtree", [True, False])
def test_psdd_round_trip(tmp_path: Path, with_vtree: bool) -> None:
    circuit = cached_load("psdd/nltcs.psdd", "psdd/nltcs.vtree")
    vtree = load_vtree(circuit_path("psdd/nltcs.vtree")) if with_vtree else None
    save_psdd(circuit, tmp_path / "a.psdd", vtree)   # without one: the implied vtree
    again = read_psdd(tmp_path / "a.psdd", tmp_path / "a.vtree")
    assert len(again) == len(circuit)
    x = twenty("nltcs")[:300]
    np.testing.assert_array_equal(log_likelihood(again, x), log_likelihood(circuit, x))


def test_psdd_round_trip_is_exact_on_all_assignments() -> None:
    circuit = load_circuit(circuit_path("psdd/little_4var.psdd"),
                           vtree=circuit_path("psdd/little_4var.vtree"))
    text, tree = format_psdd(circuit)
    again = read_psdd("a.psdd", tree, text=text)
    rows = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)
    np.testing.assert_allclose(log_likelihood(again, rows), log_likelihood(circuit, rows),
                               rtol=0, atol=1e-15)
    assert abs(np.exp(log_likelihood(again, rows)).sum() - 1) < 1e-12


def test_jpc_round_trip_every_leaf_kind(tmp_path: Path) -> None:
    b = CircuitBuilder([BINARY, categorical(3), categorical(4), "real"])
    x0 = [b.indicator(0, 0), b.indicator(0, 1)]
    x1 = [b.categorical(1, [0.2, 0.3, 0.5]), b.indicator(1, 2)]
    x2 = [b.binomial(2, n=3, p=0.4), b.categorical(2, [0.1, 0.2, 0.3, 0.4])]
    x3 = [b.gaussian(3, mean=0.5, std=2.0), b.gaussian(3, mean=-1.0, std=0.5)]
    products = [b.product([x0[i], x1[i], x2[i], x3[i]]) for i in range(2)]
    b.sum(products, [0.3, 0.7])
    circuit = b.build()
    save_jpc(circuit, tmp_path / "c.jpc")
    again = load_jpc(tmp_path / "c.jpc")
    assert again.domains == circuit.domains and len(again) == len(circuit)
    rows = np.array([[a, c, d, e] for a in (0, 1, np.nan) for c in (0, 1, 2) for d in (0, 3)
                     for e in (0.1, -2.0)])
    np.testing.assert_allclose(log_likelihood(again, rows), log_likelihood(circuit, rows),
                               rtol=1e-14, atol=1e-14)


def test_jpc_round_trip_of_the_mnist_circuit() -> None:
    circuit = cached_load("jpc/mnist_cats8_181.jpc")
    again = load_jpc("again.jpc", text=format_jpc(circuit))
    assert len(again) == len(circuit)
    for g, h in zip(circuit.groups, again.groups):
        assert (g.kind, g.children) == (h.kind, h.children)
        if g.kind == "sum":
            np.testing.assert_allclose(g.weights, h.weights, rtol=1e-15)


@pytest.mark.parametrize("write", [format_graph, format_equation])
def test_spflow_text_round_trip(write) -> None:  # type: ignore[no-untyped-def]
    circuit = load_spflow_text(circuit_path("spflow_text/NLTCS_200/structure.spn"))
    again = load_spflow_text("again.spn", text=write(circuit))
    assert len(again) == len(circuit)
    x = twenty("nltcs")[:200]
    np.testing.assert_array_equal(log_likelihood(again, x), log_likelihood(circuit, x))


def test_psdd_to_spflow_text_keeps_the_distribution() -> None:
    circuit = load_circuit(circuit_path("psdd/little_4var.psdd"))
    rows = np.array(list(itertools.product([0, 1, np.nan], repeat=4)), dtype=float)
    for write in (format_graph, format_equation):
        again = load_spflow_text("x", text=write(circuit))
        np.testing.assert_allclose(log_likelihood(again, rows), log_likelihood(circuit, rows),
                                   atol=1e-14)


@pytest.mark.parametrize("path", ["libra/msweb/msweb-mn.ac", "libra/nltcs_idspn/model1.spn",
                                  "spflow_text/NIPS30/structure.spn", "psdd/kdd-6k.psdd"])
def test_pcc_file_round_trip_of_imports(tmp_path: Path, path: str) -> None:
    circuit = load_circuit(circuit_path(path))
    save_pcc(circuit, tmp_path / "c.pcc")
    assert_same_circuit(load_pcc(tmp_path / "c.pcc"), circuit)


def test_unrepresentable_circuits_are_refused(tmp_path: Path) -> None:
    b = CircuitBuilder([BINARY, BINARY])
    x = b.bernoulli(0, p=[0.2, 0.7])
    y = b.bernoulli(1, p=[0.5, 0.1])
    b.sum([b.product([x, y])], weights=[[0.5, 0.5]])
    vectorized = b.build()
    with pytest.raises(FormatError, match="group #0 has 2 units; .jpc holds one-unit nodes"):
        format_jpc(vectorized)
    with pytest.raises(FormatError, match="units"):
        format_graph(vectorized)
    with pytest.raises(FormatError, match="units"):
        save_circuit(vectorized, tmp_path / "v.psdd")
    b = CircuitBuilder([categorical(3)])
    b.categorical(0, [0.2, 0.3, 0.5])
    with pytest.raises(FormatError, match="a PSDD has binary variables only"):
        format_psdd(b.build())
    b = CircuitBuilder(["count"])
    b.binomial(0, n=3, p=0.5)
    with pytest.raises(FormatError, match=r"group #0 \(binomial\) has no SPFlow text form"):
        format_equation(b.build())
    with pytest.raises(FormatError, match="SPFlow text is a tree: this DAG would expand to"):
        format_graph(cached_load("psdd/plants.psdd", "psdd/plants.vtree"))
    with pytest.raises(FormatError, match="pcc cannot write the libra_ac format"):
        save_circuit(vectorized, tmp_path / "v.ac")


def test_batched_evaluation_matches_one_batch() -> None:
    circuit = cached_load("psdd/nltcs.psdd", "psdd/nltcs.vtree")
    x = twenty("nltcs")[:100]
    np.testing.assert_array_equal(batched_ll(circuit, x), log_likelihood(circuit, x))
