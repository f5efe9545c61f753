"""Every shared circuit file imports and reproduces the log-likelihoods in SOURCE.md (1e-6).

Means are checked on full test sets where that is cheap; big circuits check their first rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from pcc.io import load_circuit
from tests.frontend_data import batched_ll, cached_load, circuit_path, mnist_test, twenty

# (file, vtree, data set, mean over the full test set or None, first 3 test rows, groups)
CASES = [
    ("psdd/nltcs.psdd", "psdd/nltcs.vtree", "nltcs", -6.044764, (-1.733486, -11.226721, -3.501384), 10357),
    ("psdd/nltcs.clt.psdd", "psdd/nltcs.vtree", "nltcs", -6.759045, (-3.329912, -11.865657, -6.163489), None),
    ("psdd/nltcs.10split.psdd", "psdd/nltcs.vtree", "nltcs", -6.558651, (-2.904259, -10.135334, -6.010307), None),
    ("psdd/msnbc.psdd", "psdd/msnbc.vtree", "msnbc", None, (-5.209457, -5.828764, -8.699324), None),
    ("psdd/msnbc-yitao-a.psdd", None, "msnbc", None, (-5.209994, -5.946905, -8.586989), None),
    ("psdd/msnbc-yitao-b.psdd", None, "msnbc", None, (-5.209994, -5.946905, -8.586989), None),
    ("psdd/msnbc-yitao-c.psdd", None, "msnbc", None, (-5.208629, -5.951625, -8.482402), None),
    ("psdd/msnbc-yitao-d.psdd", None, "msnbc", None, (-5.205862, -5.910264, -8.540709), None),
    ("psdd/msnbc-yitao-e.psdd", None, "msnbc", None, (-5.211666, -5.909907, -8.615354), None),
    ("psdd/kdd-6k.psdd", "psdd/kdd-6k.vtree", "kdd", None, (-5.386749, -0.342281, -5.306120), None),
    ("psdd/plants.psdd", "psdd/plants.vtree", "plants", None, (-20.254547, -8.033267, -6.142813), 153021),
    ("psdd/tretail.psdd", "psdd/tretail.vtree", "tretail", -10.916946, (-8.106305, -9.514933, -8.957261), None),
    ("spflow_text/NLTCS_200/structure.spn", None, "nltcs", -6.182998, (-1.868051, -12.208561, -3.979187), 26 + 53 + 127),
    ("spflow_text/MSNBC_200/structure.spn", None, "msnbc", None, (-5.659362, -5.959049, -8.282696), 29 + 59 + 137),
    ("spflow_text/PLANTS_4000/structure.spn", None, "plants", -20.096335, (-21.577769, -13.488585, -8.730554), 14 + 29 + 243),
    ("libra/nltcs_idspn/model1.spn", None, "nltcs", -6.020637, (-1.737730, -11.866448, -3.564581), None),
]


@pytest.mark.parametrize("path, vtree, data, mean, first3, groups", CASES,
                         ids=[c[0].split("/", 1)[1] for c in CASES])
def test_reference_log_likelihoods(path: str, vtree: str | None, data: str, mean: float | None,
                                   first3: tuple[float, ...], groups: int | None) -> None:
    circuit = cached_load(path, vtree)
    if groups is not None:
        assert len(circuit) == groups
    x = twenty(data)
    rows = len(x) if mean is not None else 3
    ll = batched_ll(circuit, x[:rows])
    np.testing.assert_allclose(ll[:3], first3, atol=1e-6)
    if mean is not None:
        assert abs(ll.mean() - mean) < 1e-6


def test_plants_matches_pcjl_docs_on_train_rows() -> None:
    """[ext] numbers printed by ProbabilisticCircuits.jl for plants.psdd on plants.train 1-3."""
    circuit = cached_load("psdd/plants.psdd", "psdd/plants.vtree")
    ll = batched_ll(circuit, twenty("plants", "train")[:3])
    np.testing.assert_allclose(ll, [-7.533388371782998, -16.534175321651873, -27.80940132993066],
                               rtol=0, atol=1e-12)


def test_psdd_valid_split_mean() -> None:
    ll = batched_ll(load_circuit(circuit_path("psdd/nltcs.clt.psdd")), twenty("nltcs", "valid"))
    assert abs(ll.mean() - -6.718532) < 1e-6


@pytest.mark.parametrize("name, probs", [
    ("little_4var", {(0, 0, 0, 0): 0.07, (0, 1, 1, 0): 0.03, (0, 0, 1, 1): 0.14}),
    ("simple2.1", {(0, 0): 0.4, (0, 1): 0.1, (1, 0): 0.25, (1, 1): 0.25}),
    ("simple2.2", {(0, 0): 0.07, (0, 1): 0.03, (1, 0): 0.63, (1, 1): 0.27}),
    ("simple2.3", {(0, 0): 0.3, (0, 1): 0.2, (1, 0): 0.3, (1, 1): 0.2}),
    ("simple2.4", {(0, 0): 0.25, (0, 1): 0.25, (1, 0): 0.4, (1, 1): 0.1}),
    ("simple2.5", {(0, 0): 0.4, (0, 1): 0.1, (1, 0): 0.25, (1, 1): 0.25}),
    ("simple2.6", {(0, 0): 0.07, (0, 1): 0.03, (1, 0): 0.63, (1, 1): 0.27}),
])
def test_small_psdds_give_published_probabilities(name: str, probs: dict) -> None:
    vtree = "little_4var" if name == "little_4var" else "simple2"
    circuit = load_circuit(circuit_path(f"psdd/{name}.psdd"),
                           vtree=circuit_path(f"psdd/{vtree}.vtree"))
    rows = np.array(list(probs), dtype=float)
    np.testing.assert_allclose(np.exp(batched_ll(circuit, rows)), list(probs.values()), atol=1e-12)


def test_mnist_jpc_and_pcjl_spn_agree() -> None:
    x = mnist_test(300)
    jpc = load_circuit(circuit_path("jpc/mnist_cats8_181.jpc"))
    spn = load_circuit(circuit_path("pcjl_spn/mnist_cats8_181.spn"))
    assert len(jpc) == len(spn) == 51961
    a, b = batched_ll(jpc, x), batched_ll(spn, x)
    np.testing.assert_allclose(a[:3], [-75.923788, -117.757056, -54.643647], atol=1e-6)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


LIBRA = [
    ("libra/msweb/msweb-ac.ac", -9.892472, ()),
    ("libra/msweb/msweb-cl.ac", -9.983433, ()),
    ("libra/msweb/msweb-test1.ac", -9.624419, ()),
    ("libra/msweb/msweb-test2.ac", -9.972110, ()),
    ("libra/msweb/msweb-mt.spn", -11.744581, ()),
    ("libra/msweb/msweb.ac", -9.713214, (20, 52, 84)),
    ("libra/msweb/msweb-mn.ac", -12.026547, (20, 52, 84)),
    ("libra/msweb/msweb.spn", -10.315011, (20, 52, 84)),
]


@pytest.mark.parametrize("path, finite_mean, zero_rows", LIBRA,
                         ids=[p.rsplit("/", 1)[1] for p, _, _ in LIBRA])
def test_libra_msweb(path: str, finite_mean: float, zero_rows: tuple[int, ...]) -> None:
    from pcc.data import read_data

    circuit = load_circuit(circuit_path(path))
    ll = batched_ll(circuit, read_data(circuit_path("libra/msweb/msweb.test")).values)
    assert not np.isnan(ll).any()
    assert tuple(np.flatnonzero(np.isneginf(ll))) == zero_rows
    assert abs(ll[np.isfinite(ll)].mean() - finite_mean) < 1e-6


@pytest.mark.parametrize("k", [1, 2])
def test_libra_acopt_per_example_scores(k: int) -> None:
    """Libra's own mscore output (msweb-test{k}.txt), row by row."""
    from pcc.data import read_data

    lines = circuit_path(f"libra/msweb/msweb-test{k}.txt").read_text().splitlines()
    expected = [float(t) for t in lines[1:] if t.strip() and not t.startswith("avg")]
    ll = batched_ll(load_circuit(circuit_path(f"libra/msweb/msweb-test{k}.ac")),
                    read_data(circuit_path("libra/msweb/msweb.test")).values)
    # mscore prints 6 decimals of a single-precision computation: agree to ~2e-5 relative
    assert len(expected) == len(ll)
    np.testing.assert_allclose(ll, expected, rtol=2e-5, atol=1e-6)
    assert abs(ll.mean() - float(lines[-1].split()[2])) < 1e-6


def test_libra_alarm_non_binary() -> None:
    from pcc.data import read_data

    circuit = load_circuit(circuit_path("libra/alarm_acbn/alarm-test2.ac"))
    assert max(d.size for d in circuit.domains) == 4
    ll = batched_ll(circuit, read_data(circuit_path("libra/alarm_acbn/alarm.data")).values)
    assert abs(ll.mean() - -10.575821) < 2e-6


def test_libra_model19_spn_and_model22_ac_agree() -> None:
    from pcc.data import read_data

    spn = load_circuit(circuit_path("libra/inference_model19/model19.spn"))
    ac = load_circuit(circuit_path("libra/inference_model19/model22.ac"))
    for k in (19, 20, 21):
        q = read_data(circuit_path(f"libra/inference_model19/test{k}.data")).values
        e = read_data(circuit_path(f"libra/inference_model19/test{k}.ev")).values
        cond_spn = batched_ll(spn, q) - batched_ll(spn, e)
        cond_ac = batched_ll(ac, q) - batched_ll(ac, e)
        np.testing.assert_allclose(cond_spn, cond_ac, atol=1e-5)
        assert abs(np.exp(cond_ac).sum() - 1) < 1e-5   # Libra's own check: they sum to 1
        # both are normalized distributions: all-missing evidence has log-likelihood 0
        assert abs(batched_ll(ac, np.full((1, 16), np.nan))[0]) < 1e-9
