"""vectorize: the same values as the reference on random circuits (by cost, always, and by cost
with constants that make merging pay), fewer groups on sparse circuits when always, scalarized
EiNets back to their K-unit groups, the decisions on the shipped circuits (golden, with the
checked-in default constants), and the compiled vectorized shipped circuits equal to the
unvectorized ones to 1e-9 in float64."""

import json

import numpy as np
import pytest
from hypothesis import given, strategies as st

from pcc.analysis import decomposability, smoothness
from pcc.backends.reference import log_likelihood
from pcc.ir import BINARY, CircuitBuilder
from pcc.layering import layer
from pcc.regions import build_circuit, hclt, poon_domingos, random_binary_trees
from pcc.transforms import Scalarize, TransformError, Vectorize, apply_passes, get_pass
from pcc.transforms.cost import Constants, Costs
from tests.strategies import circuits, data_for, deterministic_circuits
from tests.transform_helpers import assert_same_values

# merging is free and sparse edges are dear: every class whose merged form has no zeros pays
_DEAR_EDGES = Costs(100.0, 0, 0, 0, 0, 0, 0, 0)
EAGER = Constants("eager", _DEAR_EDGES, _DEAR_EDGES, _DEAR_EDGES, _DEAR_EDGES)


@given(st.data())
def test_vectorize_keeps_values(data):
    circuit = data.draw(circuits())
    x = data.draw(data_for(circuit))
    cap = data.draw(st.sampled_from([0, 1, 2, 5]))
    for vectorize in (Vectorize(always=True, max_units=cap), Vectorize(),
                      Vectorize(constants=EAGER)):
        wide, report = vectorize(circuit)
        assert_same_values(circuit, wide, x)
        assert smoothness(wide).smooth and decomposability(wide).decomposable
        assert report.groups_after == len(wide)


@given(st.data())
def test_vectorize_sparse_circuits(data):
    circuit = data.draw(deterministic_circuits())
    x = data.draw(data_for(circuit))
    wide, report = Vectorize(always=True)(circuit)
    assert_same_values(circuit, wide, x)
    # one input group per (variable, family): gathers may add groups, inputs never
    inputs = {(g.var, g.family) for g in circuit if g.kind == "input"}
    assert sum(g.kind == "input" for g in wide) == len(inputs)
    eager, _ = Vectorize(constants=EAGER)(circuit)
    assert_same_values(circuit, eager, x)


def _two_products():
    b = CircuitBuilder([BINARY, BINARY])
    kids = [b.product([b.bernoulli(0, p=p), b.bernoulli(1, p=1 - p)]) for p in (0.2, 0.7)]
    b.sum(kids, [[0.4, 0.6]])
    return b.build()


def test_vectorize_report():
    circuit = _two_products()
    wide, report = Vectorize(always=True)(circuit)
    assert report.text() == ("vectorize: 7 -> 4 groups, 7 -> 7 units (0 gathers), "
                             "sum weights 100.0% filled")
    assert [g.units for g in wide] == [2, 2, 2, 1]
    x = np.array([[0, 1], [1, np.nan], [np.nan, np.nan]])
    assert_same_values(circuit, wide, x)
    # by cost: the merged form is the same work to the native engine (one kernel sum of
    # two inputs), so the circuit is kept as it is
    same, report = Vectorize()(circuit)
    assert same is circuit and report.unchanged
    assert report.text() == ("vectorize: kept sparse, 3 of 3 classes predicted to pay; "
                             "predicted on native (1000 rows): forward 0.00752 -> 0.00752 ms, "
                             "forward+backward 0.222 -> 0.222 ms")


def test_vectorize_options():
    assert get_pass("vectorize") == Vectorize()
    assert get_pass("vectorize:always") == Vectorize(always=True)
    assert get_pass("vectorize:torch:measured") == Vectorize(engine="torch", measured=True)
    with pytest.raises(TransformError, match=r"^vectorize: unknown option 'fast'; known: "
                                             r"always, measured, native, torch$"):
        get_pass("vectorize:fast")
    with pytest.raises(TransformError, match=r"^vectorize: unknown engine 'gpu'; known: "
                                             r"native, torch$"):
        Vectorize(engine="gpu")(_two_products())


def test_dense_part_and_sparse_rest():
    """A sum class of 64 units reading the same 64 products and 2 units reading 2 of them
    each: the 64 merge into one dense sum (predicted 2.3x faster forward, 3.2x with backward;
    measured 1.9x and 1.4x), the other two stay one-unit sums, exactly."""
    rng = np.random.default_rng(0)
    b = CircuitBuilder([BINARY, BINARY])
    a = [b.bernoulli(0, p=p) for p in rng.random(8)]
    c = [b.bernoulli(1, p=p) for p in rng.random(8)]
    prods = [b.product([a[i], c[j]]) for i in range(8) for j in range(8)]
    dense = [b.sum(prods, rng.random(64) + 0.1) for _ in range(64)]
    sparse = [b.sum(prods[k:k + 2], [0.3, 0.7]) for k in (0, 5)]
    b.sum(dense + sparse, np.full(66, 1 / 66))
    circuit = b.build()
    wide, report = Vectorize()(circuit)
    assert sorted(g.units for g in wide if g.kind == "sum") == [1, 1, 1, 64]
    assert report.text() == (
        "vectorize: 147 -> 84 groups, 147 -> 147 units (0 gathers), sum weights 100.0% filled; "
        "1 of 4 classes merged by cost, predicted on native (1000 rows): forward 2.97 -> 1.32 "
        "ms, forward+backward 15.2 -> 4.75 ms")
    x = np.array([[0, 1], [1, np.nan], [np.nan, np.nan], [1, 1]])
    assert_same_values(circuit, wide, x)
    # unsplit, the class is a kernel sum over every cell: no better than its edges
    assert Vectorize(always=True)(circuit)[1].fill < 1


def _einets():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 2, (200, 12)).astype(float)
    return {"rat": lambda k: build_circuit(random_binary_trees(16, 3, 2, seed=0), k),
            "pd": lambda k: build_circuit(poon_domingos((4, 4), 2), k),
            "hclt": lambda k: build_circuit(hclt(data), k)}


def _block(b):
    return b.op, len(b.groups), b.rows, b.fan_in, b.units


@pytest.mark.parametrize("name", ["rat", "pd", "hclt"])
def test_round_trip_recovers_einet(name):
    """A scalarized EiNet (one unit per group) comes back as its K-unit groups where the
    merged form is predicted faster (K = 8: the same group count as the EiNet, kronecker
    products and all) and stays sparse where the sparse form is (K = 2)."""
    make = _einets()[name]
    rng = np.random.default_rng(1)
    for k, recovered in ((8, True), (2, False)):
        einet = make(k)
        scalar, _ = Scalarize()(einet)
        wide, report = Vectorize()(scalar)
        x = rng.integers(0, 2, (10, einet.num_vars)).astype(float)
        x[rng.random(x.shape) < 0.2] = np.nan
        assert_same_values(einet, wide, x)
        if recovered:
            assert len(wide) == len(einet) and not report.unchanged
            # the engine sees the EiNet again: the same blocks, block for block
            assert [_block(b) for b in layer(wide).blocks] == \
                [_block(b) for b in layer(einet).blocks]
            assert sorted(g.units for g in wide if g.kind == "sum") == \
                sorted(g.units for g in einet if g.kind == "sum")
            assert sum(g.kind == "product" and g.mode == "kronecker" for g in wide) == \
                sum(g.kind == "product" and g.mode == "kronecker" for g in einet)
        else:
            assert wide is scalar and report.unchanged


# the cost model's decisions on the shipped circuits with the default constants (golden):
# every one stays sparse; the classes that would pay alone (inputs, a few full sums) do not
# pay for the whole
DECISIONS = {
    "psdd/little_4var.psdd": (True, 6, 6),
    "psdd/kdd-6k.psdd": (True, 0, 152),
    "psdd/nltcs.psdd": (True, 0, 47),
    "libra/msweb/msweb.ac": (True, 101, 353),
    "jpc/mnist_cats8_181.jpc": (True, 784, 2379),
}


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_vectorize_shipped_decisions(shared_data, name):
    from pcc.io import load_circuit

    circuit = load_circuit(shared_data / "circuits" / name)
    wide, (report,) = apply_passes(circuit, ["vectorize"])
    assert (report.unchanged, report.merged, report.classes) == DECISIONS[name]
    assert wide is circuit


SHIPPED = ["psdd/little_4var.psdd", "psdd/kdd-6k.psdd", "psdd/nltcs.psdd",
           "jpc/mnist_cats8_181.jpc", "libra/msweb/msweb.ac"]


@pytest.mark.parametrize("name", SHIPPED)
def test_vectorize_shipped_compiles_equal(shared_data, name):
    torch = pytest.importorskip("torch")
    from pcc.backends.torch import compile
    from pcc.io import load_circuit

    circuit = load_circuit(shared_data / "circuits" / name)
    wide, (report,) = apply_passes(circuit, ["vectorize:always"])
    if name == "psdd/kdd-6k.psdd":
        assert report.groups_after * 4 <= report.groups_before
    rng = np.random.default_rng(0)
    x = np.stack([rng.integers(0, d.size, 16) for d in circuit.domains], axis=1).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan
    want = log_likelihood(circuit, x)
    got = compile(wide, dtype=torch.float64)(x).detach().numpy()
    finite = np.isfinite(want)
    assert np.array_equal(finite, np.isfinite(got))
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["rat", "pd", "hclt"])
def test_round_trip_through_jpc(tmp_path, name):
    """The mission's round trip: an EiNet written as a node-level .jpc (scalarized), read
    back and vectorized, is the EiNet again (its plan block for block), exactly."""
    from pcc.io import load_circuit, save_circuit

    einet = _einets()[name](8)
    save_circuit(Scalarize()(einet)[0], tmp_path / "einet.jpc")
    back = load_circuit(tmp_path / "einet.jpc")
    assert len(back) > 10 * len(einet)
    wide, _ = Vectorize()(back)
    assert [_block(b) for b in layer(wide).blocks] == [_block(b) for b in layer(einet).blocks]
    rng = np.random.default_rng(2)
    x = rng.integers(0, 2, (10, einet.num_vars)).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan
    assert_same_values(einet, wide, x)


def test_cli_report(tmp_path, capsys):
    """pcc transform prints the pass's line (and its JSON) by cost and always."""
    from pcc.cli.main import main
    from pcc.io import save_circuit

    save_circuit(_two_products(), tmp_path / "c.pcc")
    args = ["transform", str(tmp_path / "c.pcc"), "-o", str(tmp_path / "v.pcc"), "--passes"]
    assert main(args + ["vectorize"]) == 0
    assert capsys.readouterr().out.startswith("vectorize: kept sparse, 3 of 3 classes")
    assert main(args + ["vectorize:always", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["passes"][0]
    assert (report["pass"], report["groups_after"], report["unchanged"]) == ("vectorize", 4, False)
    assert main(args + ["vectorize:bad"]) == 2
    assert capsys.readouterr().err == ("pcc transform: error: vectorize: unknown option 'bad'; "
                                       "known: always, measured, native, torch\n")
