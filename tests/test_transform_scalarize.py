"""scalarize: one unit per group, the same values as the reference to 1e-9 on random circuits, on
the circuits pcc trains (RAT, PD, QT, HCLT; tucker and cp) and on the shipped files vectorized
and scalarized back; units read in the documented order; the CLI pass; its refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pcc.analysis import decomposability, smoothness
from pcc.cli.main import main
from pcc.ir import BINARY, Circuit, CircuitBuilder, Group, Input, Sum, categorical
from pcc.io import load_circuit, save_circuit
from pcc.regions import (RegionGraph, build_circuit, chow_liu_tree, poon_domingos, quad_tree,
                         random_binary_trees)
from pcc.regions.hclt import tree_region_graph
from pcc.transforms import Scalarize, TransformError, Vectorize, apply_passes
from pcc.transforms.scalarize import is_scalar
from tests.frontend_data import circuit_path
from tests.strategies import circuits, data_for
from tests.transform_helpers import assert_same_values


def merge_all(circuit: Circuit, **options: int) -> tuple[Circuit, object]:
    """vectorize merging every class it can: where vectorize decides by cost (issue 22 item 1)
    it may leave a circuit as it is, and these tests want the wide groups."""
    if "always" in Vectorize.__dataclass_fields__:
        options = {**options, "always": True}
    return Vectorize(**options)(circuit)  # type: ignore[arg-type]


def _rows(circuit, count: int = 30, seed: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Random rows in the circuit's domains (reals: normal), a fifth of the entries missing."""
    rng = np.random.default_rng(seed)
    cols = [rng.normal(size=count) if d.size is None and d.kind == "real"
            else rng.integers(0, d.size or 5, count).astype(float) for d in circuit.domains]
    x = np.stack(cols, axis=1)
    x[rng.random(x.shape) < 0.2] = np.nan
    return x


def _assert_scalar_twin(circuit, scalar) -> None:  # type: ignore[no-untyped-def]
    assert is_scalar(scalar)
    assert all(g.units == 1 for g in scalar)
    assert {g.kind + getattr(g, "mode", "") for g in scalar} <= {"input", "producthadamard",
                                                                   "sumdense"}
    assert len(scalar) == circuit.num_units == scalar.num_units


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_scalarize_keeps_values(data: st.DataObject) -> None:
    circuit = data.draw(circuits())
    x = data.draw(data_for(circuit))
    scalar, report = Scalarize()(circuit)
    _assert_scalar_twin(circuit, scalar)
    assert_same_values(circuit, scalar, x)
    assert smoothness(scalar).smooth and decomposability(scalar).decomposable
    assert (report.groups_before, report.groups_after) == (len(circuit), len(scalar))
    assert report.edges_after == sum(len(g.children) for g in scalar)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_scalarize_undoes_vectorize(data: st.DataObject) -> None:
    circuit = data.draw(circuits(max_units=4))
    x = data.draw(data_for(circuit))
    wide, _ = merge_all(circuit, max_units=data.draw(st.sampled_from([0, 2])))
    scalar, _ = Scalarize()(wide)
    _assert_scalar_twin(wide, scalar)
    assert_same_values(circuit, scalar, x)


def _weights(group: Group) -> np.ndarray:
    assert isinstance(group, Sum)
    return group.weights


def test_units_are_read_in_order() -> None:
    """kronecker unit k reads the row-major digits of k (first child slowest); a dense sum's
    unit reads every child unit in column order; a mixing sum's unit k reads unit k."""
    b = CircuitBuilder([BINARY, categorical(3), BINARY])
    x = b.bernoulli(0, p=[0.1, 0.2])                              # #0: new #0, #1
    y = b.categorical(1, probs=np.eye(3) * 0.4 + 0.2)             # #1: new #2..#4
    z = b.bernoulli(2, p=[0.3, 0.4, 0.5, 0.6, 0.7, 0.8])          # #2: new #5..#10
    k = b.product([x, y], mode="kronecker")                       # #3: new #11..#16
    h = b.product([k, z])                                         # #4: new #17..#22
    w = np.arange(1, 13, dtype=float).reshape(2, 6)
    s = b.sum([h], w / w.sum(axis=1, keepdims=True))              # #5: new #23, #24
    m = b.mixture([s, s], [[0.3, 0.7], [0.6, 0.4]])                # #6: new #25, #26
    b.sum([m], [[0.5, 0.5]])                                       # #7: new #27
    circuit = b.build()
    scalar, report = Scalarize()(circuit)
    kids = [scalar[i].children for i in range(11, 17)]
    assert kids == [(0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4)]
    assert [scalar[i].children for i in (17, 22)] == [(11, 5), (16, 10)]
    assert scalar[24].children == tuple(range(17, 23))
    np.testing.assert_array_equal(_weights(scalar[24]), _weights(circuit[5])[1:])
    assert [scalar[i].children for i in (25, 26)] == [(23, 23), (24, 24)]
    np.testing.assert_array_equal(_weights(scalar[26]), [[0.6, 0.4]])
    assert scalar[27].children == (25, 26) and len(scalar) == 28
    leaf = scalar[5]
    assert isinstance(leaf, Input) and leaf.params["p"].tolist() == [0.3] and leaf.var == 2
    assert scalar[13].origin == "#3 unit 2" and scalar[27].origin is None
    assert report.text() == "scalarize: 8 -> 28 groups of one unit, 42 edges"
    assert_same_values(circuit, scalar, _rows(circuit))


def test_a_scalar_circuit_comes_back_as_it_is() -> None:
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.product([b.bernoulli(0, p=0.2), b.bernoulli(1, p=0.6)])], [[1.0]])
    circuit = b.build()
    scalar, report = Scalarize()(circuit)
    assert scalar is circuit
    assert report.text() == "scalarize: 4 -> 4 groups of one unit, 3 edges"


def test_one_unit_kronecker_and_mixing_become_hadamard_and_dense() -> None:
    b = CircuitBuilder([BINARY, BINARY])
    p = b.product([b.bernoulli(0, p=0.2), b.bernoulli(1, p=0.6)], mode="kronecker")
    b.mixture([p, p], [[0.25, 0.75]])
    circuit = b.build()
    scalar, _ = Scalarize()(circuit)
    assert [getattr(g, "mode", "") for g in scalar] == ["", "", "hadamard", "dense"]
    assert_same_values(circuit, scalar, _rows(circuit))


def test_a_root_of_several_units_is_refused() -> None:
    b = CircuitBuilder([BINARY])
    b.bernoulli(0, p=[0.2, 0.6], origin="here")
    with pytest.raises(TransformError, match=r"^scalarize: the root, input #0 \(here\), has 2 "
                                             r"units; one-unit groups hold one root distribution "
                                             r"\(add a one-unit sum over it first\)$"):
        Scalarize()(b.build())


def _hclt(num_vars: int) -> RegionGraph:
    data = np.random.default_rng(3).integers(0, 2, (200, num_vars)).astype(float)
    return tree_region_graph(chow_liu_tree(data), 0)


TRAINED = {
    "rat": lambda: random_binary_trees(9, 3, 2, seed=4),
    "pd": lambda: poon_domingos((4, 4), 2),
    "qt": lambda: quad_tree((4, 4)),
    "hclt": lambda: _hclt(7),
}


@pytest.mark.parametrize("structure", list(TRAINED))
@pytest.mark.parametrize("sum_product, leaf, units",
                         [("tucker", "bernoulli", 3), ("cp", "gaussian", 4),
                          ("tucker", "categorical", 2)])
def test_scalarize_region_circuits(structure: str, sum_product: str, leaf: str,
                                   units: int) -> None:
    circuit = build_circuit(TRAINED[structure](), units, sum_product=sum_product, leaf=leaf,
                            categories=3, seed=1, cp_leaf_sums=structure != "hclt")
    scalar, _ = Scalarize()(circuit)
    _assert_scalar_twin(circuit, scalar)
    assert_same_values(circuit, scalar, _rows(circuit))


SHIPPED = ["psdd/little_4var.psdd", "psdd/nltcs.10split.psdd", "psdd/kdd-6k.psdd",
           "libra/msweb/msweb.ac", "libra/alarm_acbn/alarm-test2.ac",
           "spflow_text/NLTCS_200/structure.spn", "jpc/mnist_cats8_181.jpc"]


@pytest.mark.parametrize("name", SHIPPED)
def test_scalarize_shipped_vectorized(name: str) -> None:
    circuit = load_circuit(circuit_path(name))
    scalar, _ = Scalarize()(circuit)
    assert scalar is circuit  # the shipped formats hold one-unit groups already
    wide, _ = merge_all(circuit)
    assert not is_scalar(wide)
    scalar, _ = Scalarize()(wide)
    _assert_scalar_twin(wide, scalar)
    assert_same_values(circuit, scalar, _rows(circuit, count=20))


def test_cli_pass(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    circuit = build_circuit(random_binary_trees(6, 2, 2, seed=0), 3)
    save_circuit(circuit, tmp_path / "c.pcc")
    status = main(["transform", str(tmp_path / "c.pcc"), "-o", str(tmp_path / "s.pcc"),
                   "--passes", "scalarize"])
    out, err = capsys.readouterr()
    assert status == 0, err
    scalar = load_circuit(tmp_path / "s.pcc")
    assert out.startswith(f"scalarize: {len(circuit)} -> {len(scalar)} groups of one unit, ")
    _assert_scalar_twin(circuit, scalar)
    assert_same_values(circuit, scalar, _rows(circuit))
    again, reports = apply_passes(circuit, "scalarize")
    assert len(again) == len(scalar) and reports[0].name == "scalarize"
