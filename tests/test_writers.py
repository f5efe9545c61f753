"""The writers of node-level formats (.jpc, SPFlow text in both forms, .psdd + .vtree) on the
circuits pcc trains: `pcc convert` scalarizes them, and the file read back by pcc gives the same
log-likelihoods (float64, 1e-9); SPFlow text is also read by SPFlow itself and evaluated there.
PSDDs are written where the circuit is deterministic and structured-decomposable; otherwise one
line names the property and the node. Error lines are pinned."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from pcc.backends.reference import log_likelihood
from pcc.cli.main import main
from pcc.frontends.jpc import load_jpc
from pcc.frontends._writing import tree_size
from pcc.frontends.jpc_writer import format_jpc
from pcc.frontends.spflow_text import load_spflow_text
from pcc.frontends.spflow_writer import format_equation, format_graph
from pcc.ir import BINARY, REAL, Circuit, CircuitBuilder, FormatError, Input
from pcc.io import load_circuit, save_circuit
from pcc.regions import (RegionGraph, build_circuit, chow_liu_tree, poon_domingos, quad_tree,
                         random_binary_trees)
from pcc.regions.hclt import tree_region_graph
from pcc.transforms import Scalarize
from tests.frontend_data import circuit_path
from tests.strategies import DISCRETE_DOMAINS, circuits, data_for
from tests.test_transform_scalarize import merge_all

TOL = 1e-9


def _hclt() -> RegionGraph:
    data = np.random.default_rng(3).integers(0, 2, (200, 6)).astype(float)
    return tree_region_graph(chow_liu_tree(data), 0)


STRUCTURES: dict[str, Callable[[], RegionGraph]] = {
    "rat": lambda: random_binary_trees(6, 2, 2, seed=1),
    "pd": lambda: poon_domingos((3, 3), 2),
    "qt": lambda: quad_tree((4, 4)),
    "hclt": _hclt,
}
# (structure, units, sum_product, leaf): small enough that SPFlow's tree form stays < 10^4 nodes
TRAINED = [("rat", 3, "tucker", "bernoulli"), ("rat", 2, "cp", "gaussian"),
           ("pd", 3, "cp", "categorical"), ("pd", 2, "tucker", "gaussian"),
           ("qt", 2, "tucker", "bernoulli"), ("qt", 3, "cp", "categorical"),
           ("hclt", 3, "cp", "bernoulli"), ("hclt", 2, "tucker", "categorical")]


def _trained(structure: str, units: int, sum_product: str, leaf: str) -> Circuit:
    return build_circuit(STRUCTURES[structure](), units, sum_product=sum_product, leaf=leaf,
                         categories=3, seed=2, cp_leaf_sums=structure != "hclt")


def _rows(circuit: Circuit, count: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    cols = [rng.normal(size=count) if d.kind == "real"
            else rng.integers(0, d.size or 4, count).astype(float) for d in circuit.domains]
    x = np.stack(cols, axis=1)
    x[rng.random(x.shape) < 0.2] = np.nan
    return x


def _same(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


def _convert(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = main(["convert", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("case", TRAINED, ids=["-".join(map(str, c)) for c in TRAINED])
@pytest.mark.parametrize("suffix", [".jpc", ".spn", ".spflow-eq.txt"])
def test_convert_writes_trained_circuits(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         case: tuple, suffix: str) -> None:
    circuit = _trained(*case)
    save_circuit(circuit, tmp_path / "model.pcc")
    out_path = tmp_path / f"model{suffix}"
    extra = ["--to", "spflow_eq"] if suffix.endswith(".txt") else []
    status, out, err = _convert(capsys, tmp_path / "model.pcc", out_path, *extra)
    assert status == 0 and err == "", err
    scalar, report = Scalarize()(circuit)
    target = {".jpc": "jpc", ".spn": "spflow"}.get(suffix, "spflow_eq")
    assert out == (f"{report.text()}\nwrote {out_path} ({target}): {len(scalar)} groups, "
                   f"{circuit.num_vars} variables\n")
    again = load_circuit(out_path, "spflow_eq" if extra else None)
    x = _rows(circuit)
    _same(log_likelihood(again, x), log_likelihood(circuit, x))


# SPFlow's parser (lark) takes ~4 ms per node: trees of 100-1,000 nodes
SPFLOW_CASES = [("rat", 2, "tucker", "bernoulli"), ("rat", 2, "cp", "gaussian"),
                ("pd", 2, "cp", "categorical"), ("qt", 2, "cp", "bernoulli"),
                ("hclt", 3, "cp", "bernoulli")]


@pytest.mark.parametrize("case", SPFLOW_CASES, ids=["-".join(map(str, c)) for c in SPFLOW_CASES])
def test_spflow_reads_and_evaluates_what_convert_writes(tmp_path: Path, case: tuple) -> None:
    """SPFlow's own parser reads the equation form, and SPFlow's log-likelihood equals pcc's
    on the circuit before it was scalarized (the leaves here have no zero probabilities, where
    SPFlow would clamp)."""
    pytest.importorskip("spn")
    pytest.importorskip("lark")
    from spn.algorithms.Inference import log_likelihood as spflow_ll
    from spn.io.Text import str_to_spn
    from spn.structure.leaves.parametric.Text import add_parametric_text_support

    add_parametric_text_support()
    circuit = _trained(*case)
    save_circuit(circuit, tmp_path / "model.pcc")
    assert main(["convert", str(tmp_path / "model.pcc"), str(tmp_path / "eq.txt"),
                 "--to", "spflow_eq"]) == 0
    spn = str_to_spn((tmp_path / "eq.txt").read_text().strip())
    x = _rows(circuit, 30)
    _same(spflow_ll(spn, x)[:, 0], log_likelihood(circuit, x))


def _inside(read: Circuit, x: np.ndarray) -> np.ndarray:
    """`x` with the values outside the domains of the circuit read back made missing: the
    formats keep no domains, their readers take them from the inputs (a categorical(3) variable
    that only an indicator of 0 reads comes back binary)."""
    y = x.copy()
    for v, domain in enumerate(read.domains):
        if domain.size is not None:
            y[y[:, v] >= domain.size, v] = np.nan
    return y


def _families(circuit: Circuit) -> set[str]:
    return {g.family for g in circuit if isinstance(g, Input)}


_JPC_FAMILIES = {"bernoulli", "categorical", "indicator", "binomial", "gaussian"}
_SPFLOW_FAMILIES = {"bernoulli", "categorical", "indicator", "gaussian", "poisson", "histogram"}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.data())
def test_jpc_round_trip_of_random_circuits(data: st.DataObject) -> None:
    circuit = data.draw(circuits(domains=st.one_of(DISCRETE_DOMAINS, st.just(REAL)), max_vars=3))
    assume(_families(circuit) <= _JPC_FAMILIES)
    x = data.draw(data_for(circuit))
    scalar, _ = Scalarize()(circuit)
    again = load_jpc("again.jpc", text=format_jpc(scalar))
    x = _inside(again, x)
    _same(log_likelihood(again, x), log_likelihood(circuit, x))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.data())
def test_spflow_round_trip_of_random_circuits(data: st.DataObject) -> None:
    circuit = data.draw(circuits(domains=st.one_of(DISCRETE_DOMAINS, st.just(REAL)), max_vars=3,
                                 max_depth=3))
    assume(_families(circuit) <= _SPFLOW_FAMILIES)
    x = data.draw(data_for(circuit))
    scalar, _ = Scalarize()(circuit)
    for text in (format_graph(scalar), format_equation(scalar)):
        again = load_spflow_text("again.spn", text=text)
        y = _inside(again, x)
        _same(log_likelihood(again, y), log_likelihood(circuit, y))


def _deterministic() -> Circuit:
    """Wide groups that are a PSDD once scalarized: unit k of `s` decides on x1 (elements
    [x1 = j] * z), the root decides on x0 (elements [x0 = k] * unit k of `s`)."""
    b = CircuitBuilder([BINARY, BINARY, BINARY])
    x = b.indicator(0, value=[0, 1])
    y = b.indicator(1, value=[0, 1])
    z = b.bernoulli(2, p=0.3)
    s = b.sum([b.product([y, z], mode="kronecker")], [[0.25, 0.75], [0.5, 0.5]])
    b.sum([b.product([x, s])], [[0.4, 0.6]])
    return b.build()


def test_psdd_of_a_deterministic_circuit_of_wide_groups(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    circuit = _deterministic()
    save_circuit(circuit, tmp_path / "d.pcc")
    status, out, err = _convert(capsys, tmp_path / "d.pcc", tmp_path / "d.psdd")
    assert status == 0 and err == "", err
    assert out.startswith("scalarize: ")
    assert (tmp_path / "d.vtree").exists()
    again = load_circuit(tmp_path / "d.psdd", vtree=tmp_path / "d.vtree")
    x = _rows(circuit)
    _same(log_likelihood(again, x), log_likelihood(circuit, x))


@pytest.mark.parametrize("name", ["little_4var", "nltcs.clt", "nltcs.10split", "kdd-6k"])
def test_psdd_of_a_vectorized_psdd(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                   name: str) -> None:
    """vectorize merges a PSDD's decision nodes into mostly-zero sums and adds one-hot gathers;
    converted back, zero elements are dropped and gathers written as their child: the PSDD
    comes back node for node."""
    original = load_circuit(circuit_path(f"psdd/{name}.psdd"))
    wide, _ = merge_all(original)
    save_circuit(wide, tmp_path / "wide.pcc")
    status, _, err = _convert(capsys, tmp_path / "wide.pcc", tmp_path / "back.psdd")
    assert status == 0 and err == "", err
    again = load_circuit(tmp_path / "back.psdd", vtree=tmp_path / "back.vtree")
    assert len(again) == len(original)
    x = _rows(original)
    _same(log_likelihood(again, x), log_likelihood(original, x))


def test_psdd_certain_bernoullis_are_literals(tmp_path: Path) -> None:
    """A T line holds a finite log-probability: P(x = 1) of 0 or 1 is written as a literal."""
    b = CircuitBuilder([BINARY, BINARY])
    kids = [b.product([b.bernoulli(0, p=p0), b.bernoulli(1, p=p1)])
            for p0, p1 in [(1.0, 0.3), (0.0, 0.0)]]
    b.sum(kids, [[0.4, 0.6]])
    circuit = b.build()
    save_circuit(circuit, tmp_path / "c.psdd")
    lines = [line for line in (tmp_path / "c.psdd").read_text().splitlines()
             if line[:1] in "LTD"]
    assert lines[:4] == ["L 0 1 1", "T 1 0 2 -1.2039728043259361", "L 3 1 -1", "L 4 0 -2"]
    again = load_circuit(tmp_path / "c.psdd")
    x = np.array([[1, 0], [0, 0], [1, 1], [np.nan, 0], [np.nan, np.nan]])
    _same(log_likelihood(again, x), log_likelihood(circuit, x))


PSDD_REFUSALS = [
    (("rat", 3, "tucker", "bernoulli"),
     "product #24 (region 0 partition 2) is not structured-decomposable: no vtree splits {0..5} "
     "in two, since product #26 keeps {2,3,5} and {0,1,4} each on one side; product #24 keeps "
     "{0,2,4} and {1,3,5} each on one side"),
    (("hclt", 3, "cp", "bernoulli"),
     "a PSDD is deterministic: sum #7 (region 6 partition 1) unit 0: children #6 unit 0 and #6 "
     "unit 1 not proved disjoint"),
    (("pd", 3, "cp", "categorical"), "a PSDD has binary variables only; x0 is categorical(3)"),
    (("qt", 2, "tucker", "gaussian"), "a PSDD has binary variables only; x0 is real"),
]


@pytest.mark.parametrize("case, message", PSDD_REFUSALS, ids=[c[0][0] for c in PSDD_REFUSALS])
def test_psdd_refusals_name_the_property_and_node(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path, case: tuple,
                                                  message: str) -> None:
    save_circuit(_trained(*case), tmp_path / "m.pcc")
    status, out, err = _convert(capsys, tmp_path / "m.pcc", tmp_path / "m.psdd")
    assert (status, out) == (2, "")
    assert err == f"pcc convert: error: {tmp_path / 'm.psdd'}: cannot write .psdd: {message}\n"
    assert not (tmp_path / "m.psdd").exists()


def test_writers_refuse_wide_groups_with_a_way_out() -> None:
    wide = _deterministic()
    for write, what in [(format_jpc, ".jpc"), (format_graph, "SPFlow text")]:
        with pytest.raises(FormatError, match=rf"^<input>: group #0 has 2 units; {what} holds "
                                              r"one-unit nodes only \(the scalarize pass splits "
                                              r"them; pcc convert runs it itself\)$"):
            write(wide)


def test_unrepresentable_inputs_name_their_origin(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    b = CircuitBuilder(["count", BINARY])
    n = b.binomial(0, n=[3, 4], p=[0.5, 0.2], origin="my leaf")
    b.sum([b.product([n, b.bernoulli(1, p=[0.1, 0.9])])], [[0.5, 0.5]])
    save_circuit(b.build(), tmp_path / "b.pcc")
    status, out, err = _convert(capsys, tmp_path / "b.pcc", tmp_path / "b.spn")
    assert status == 2
    assert err == (f"pcc convert: error: {tmp_path / 'b.spn'}: cannot write SPFlow text: group #0 "
                   "(binomial) has no SPFlow text form (from my leaf unit 0)\n")
    status, _, err = _convert(capsys, tmp_path / "b.pcc", tmp_path / "b.jpc")
    assert status == 0, err


def test_spflow_tree_limit_is_one_line(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    save_circuit(_trained("hclt", 8, "tucker", "bernoulli"), tmp_path / "h.pcc")
    status, _, err = _convert(capsys, tmp_path / "h.pcc", tmp_path / "h.spn")
    assert status == 2 and err.count("\n") == 1
    assert "cannot write SPFlow text: SPFlow text is a tree: this DAG would expand to" in err
    assert "nodes (limit 2000000); use .pcc or .jpc" in err


def test_convert_names_the_to_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """issue 23: the flag that gives OUT's format is --to (convert and transform), not
    --format."""
    save_circuit(_deterministic(), tmp_path / "x.pcc")
    status, _, err = _convert(capsys, tmp_path / "x.pcc", tmp_path / "d.txt")
    assert status == 2
    assert err.startswith(f"pcc convert: error: {tmp_path / 'd.txt'}: cannot tell the format to "
                          "write from the file name; use a known extension or --to (pcc (.pcc)")
    assert "--format" not in err
    assert main(["transform", str(tmp_path / "x.pcc"), "-o", str(tmp_path / "d.txt"),
                 "--passes", "prune"]) == 2
    err = capsys.readouterr().err
    assert "use a known extension or --to (pcc (.pcc)" in err and "--format" not in err


def test_a_big_einet_writes_as_jpc(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A PD EiNet of ~10^4 units: scalarized, written and read back in seconds, the same values."""
    circuit = build_circuit(poon_domingos((8, 8), 4), 8, leaf="categorical", categories=4)
    save_circuit(circuit, tmp_path / "pd.pcc")
    status, out, err = _convert(capsys, tmp_path / "pd.pcc", tmp_path / "pd.jpc")
    assert status == 0, err
    again = load_circuit(tmp_path / "pd.jpc")
    assert len(again) == circuit.num_units
    x = _rows(circuit, 10)
    _same(log_likelihood(again, x), log_likelihood(circuit, x))


def test_what_pcc_train_writes_converts(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    """The files of `pcc train` themselves: a RAT-SPN trained from scratch, and a PSDD
    fine-tuned from a shipped file (`--init`), each converted to every node-level format that
    can hold it and read back with the same values."""
    rng = np.random.default_rng(0)
    np.savetxt(tmp_path / "d.csv", rng.integers(0, 2, (60, 4)), fmt="%d", delimiter=",")
    runs = {"rat": ["--structure", "rat", "--units", "2"],
            "tuned": ["--init", str(circuit_path("psdd/little_4var.psdd"))]}
    for name, how in runs.items():
        assert main(["train", *how, "--data", str(tmp_path / "d.csv"), "--epochs", "2",
                     "-o", str(tmp_path / f"{name}.pcc")]) == 0
        capsys.readouterr()
        trained = load_circuit(tmp_path / f"{name}.pcc")
        x = _rows(trained)
        for suffix in [".jpc", ".spn", ".psdd"]:
            status, _, err = _convert(capsys, tmp_path / f"{name}.pcc",
                                      tmp_path / f"{name}{suffix}")
            if name == "rat" and suffix == ".psdd":  # repetitions: no vtree; none deterministic
                assert status == 2 and ("is not structured-decomposable" in err
                                        or "a PSDD is deterministic" in err), err
                continue
            assert status == 0, err
            again = load_circuit(tmp_path / f"{name}{suffix}")
            _same(log_likelihood(again, x), log_likelihood(trained, x))


@settings(max_examples=100, deadline=None)
@given(circuits())
def test_tree_size_counts_every_path(circuit: Circuit) -> None:
    """The SPFlow tree bound, level by level with numpy, equals the count node by node."""
    size = np.ones(len(circuit))
    for g in circuit.groups:
        if g.children:
            size[g.id] = 1 + sum(size[c] for c in g.children)
    assert tree_size(circuit) == size[-1]


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_jpc_text_is_the_same_in_pieces(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """The writer formats about CHUNK edges at a time; any cut gives the same text."""
    import pcc.frontends.jpc_writer as writer

    scalar, _ = Scalarize()(_trained("pd", 3, "cp", "categorical"))
    whole = format_jpc(scalar)
    monkeypatch.setattr(writer, "CHUNK", chunk)
    assert format_jpc(scalar) == whole
    assert len(list(writer.jpc_chunks(scalar))) > 2
