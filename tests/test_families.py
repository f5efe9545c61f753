"""Every input family implements every entry, and each entry agrees across the two backends.

One random example per family (`EXAMPLES`: parameters of two input groups, ragged where the
family allows, and a domain); for each family in the table: the torch module's log-values equal
the spec's on data with missing values (both dtypes, and by value table on finite domains), the
mode maximizes the spec's density, torch draws and spec samples have the same distribution, the
M-step on weighted data is the weighted maximum-likelihood estimate, and get/set of parameters
round-trips. An unknown family is an error naming it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from pcc.backends.torch.families import LEAVES, Family, leaf_class, make_family
from pcc.families import FAMILIES, family
from pcc.families.base import Family as SpecFamily
from pcc.ir import BINARY, COUNT, REAL, Domain, Input, categorical
from pcc.learn.leaves import EM_FAMILIES, interpolate, m_step, sufficient_statistics

Params = dict[str, np.ndarray]


def _simplex(rng: np.random.Generator, units: int, k: int) -> np.ndarray:
    raw = rng.uniform(0.05, 1.0, (units, k))
    raw[0, -1] = 0.0                                    # an exact zero
    return raw / raw.sum(1, keepdims=True)


def _breaks(rng: np.random.Generator, units: int, k: int, unit: bool) -> np.ndarray:
    if unit:                                            # b, b + 1, ...: the floor path
        return np.arange(k + 1.0)[None, :] + rng.integers(0, 2, (units, 1))
    return np.cumsum(rng.uniform(0.3, 1.5, (units, k + 1)), axis=1) - 2.0


def _densities(rng: np.random.Generator, breaks: np.ndarray) -> np.ndarray:
    mass = _simplex(rng, len(breaks), breaks.shape[1] - 1)
    return mass / np.diff(breaks, axis=1)


# family -> (domain, groups' params from rng); two groups each (ragged widths where possible)
EXAMPLES: dict[str, tuple[Domain, Callable[[np.random.Generator], list[Params]]]] = {
    "bernoulli": (BINARY, lambda r: [{"p": r.uniform(0, 1, 3)}, {"p": np.array([0.0, 1.0])}]),
    "categorical": (COUNT, lambda r: [{"probs": _simplex(r, 3, 4)}, {"probs": _simplex(r, 2, 2)}]),
    "indicator": (categorical(4), lambda r: [{"value": r.integers(0, 4, 3)},
                                             {"value": np.array([0, 3])}]),
    "binomial": (COUNT, lambda r: [{"n": r.integers(0, 7, 3), "p": r.uniform(0, 1, 3)},
                                   {"n": np.array([4, 5]), "p": np.array([0.0, 1.0])}]),
    "poisson": (COUNT, lambda r: [{"rate": r.uniform(0.1, 6.0, 3)},
                                  {"rate": np.array([0.0, 2.5])}]),
    "gaussian": (REAL, lambda r: [{"mean": r.normal(0, 2, 3), "std": r.uniform(0.2, 3, 3)},
                                  {"mean": r.normal(0, 2, 2), "std": r.uniform(0.2, 3, 2)}]),
    "histogram": (REAL, lambda r: [
        {"breaks": (b := _breaks(r, 3, 4, False)), "densities": _densities(r, b)},
        {"breaks": (c := _breaks(r, 2, 2, False)), "densities": _densities(r, c)}]),
    "exponential": (REAL, lambda r: [{"rate": r.uniform(0.2, 3.0, 3)},
                                     {"rate": r.uniform(0.2, 3.0, 2)}]),
}
# histograms also over a discrete domain with unit-width bins (SPFlow's; the floor path)
UNIT_HISTOGRAM = (categorical(5), lambda r: [
    {"breaks": (b := _breaks(r, 3, 3, True)), "densities": _densities(r, b)}])


def _groups(name: str, seed: int, example=None) -> tuple[Domain, list[Input]]:
    domain, make = example or EXAMPLES[name]
    params = make(np.random.default_rng(seed))
    groups = [Input(i, len(next(iter(p.values()))), 0, name, p) for i, p in enumerate(params)]
    for g in groups:
        assert not family(name).check(dict(g.params), domain), (name, g)
    return domain, groups


def _module(name: str, groups: list[Input], dtype: torch.dtype) -> Family:
    units = sum(g.units for g in groups)
    return make_family(name, groups, np.zeros(units, dtype=np.int64), dtype)


def _values(domain: Domain, rng: np.random.Generator, rows: int) -> np.ndarray:
    """Data of one variable in (and a little around) its domain, ~25% missing."""
    if domain.kind == "real":
        x = rng.normal(0, 3, rows)
    else:
        x = rng.integers(0, (domain.size or 9) + 2, rows).astype(np.float64)
    x[rng.random(rows) < 0.25] = np.nan
    return x


def _spec_values(name: str, groups: list[Input], x: np.ndarray) -> np.ndarray:
    """(units, rows) spec log-values, 0 where missing (as the interpreter does)."""
    missing = np.isnan(x)
    parts = [family(name).log_prob(dict(g.params), np.where(missing, 0.0, x)) for g in groups]
    out = np.concatenate(parts, axis=1)
    out[missing] = 0.0
    return out.T


def _examples() -> list[tuple[str, tuple]]:
    return [(n, EXAMPLES[n]) for n in FAMILIES] + [("histogram", UNIT_HISTOGRAM)]


# -- the tables -----------------------------------------------------------------------------------
def test_both_tables_list_the_same_families_in_the_same_order():
    assert list(LEAVES) == list(FAMILIES) == list(EXAMPLES)
    for name, spec in FAMILIES.items():
        assert spec.name == name and LEAVES[name].name == name
        assert spec.domains and spec.params


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_implements_every_entry(name):
    """No family leaves an entry at the base class's NotImplementedError; EM families have all
    of statistics, M-step and set_params, the others say EM cannot train them."""
    spec, cls = type(FAMILIES[name]), LEAVES[name]
    for entry in ("check", "log_prob", "mode", "sample"):
        assert getattr(spec, entry) is not getattr(SpecFamily, entry), (name, entry)
    for entry in ("log_prob", "get_params", "draw"):
        assert getattr(cls, entry) is not getattr(Family, entry), (name, entry)
    em = ("statistics", "m_step", "set_params")
    if cls.trainable:
        assert name in EM_FAMILIES
        for entry in em:
            assert getattr(cls, entry) is not getattr(Family, entry), (name, entry)
    else:
        assert name not in EM_FAMILIES
        with pytest.raises(ValueError, match=f"EM has no M-step for {name} inputs"):
            sufficient_statistics(name, {}, torch.zeros(1, 1), torch.ones(1, 1))
    if cls.init_from_data:
        assert cls.trials is not Family.trials


def test_an_unknown_family_is_an_error_naming_it():
    with pytest.raises(KeyError, match="unknown input family 'gamma'; known: bernoulli"):
        family("gamma")
    with pytest.raises(KeyError, match="unknown input family 'gamma'"):
        leaf_class("gamma")
    with pytest.raises(KeyError, match="unknown input family 'gamma'"):
        m_step("gamma", {}, torch.zeros(1, 1), torch.ones(1))
    with pytest.raises(ValueError, match="unknown family 'gamma'"):
        Input(0, 1, 0, "gamma", {"shape": [1.0]})


# -- log-density ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,example", _examples())
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_log_density_equals_the_spec_with_missing_values(name, example, dtype):
    domain, groups = _groups(name, 1, example)
    module = _module(name, groups, dtype)
    x = _values(domain, np.random.default_rng(2), 60)
    want = _spec_values(name, groups, x)
    xt = torch.as_tensor(np.where(np.isnan(x), 0.0, x))[:, None]
    missing = torch.as_tensor(np.isnan(x))[:, None]
    with torch.no_grad():
        got = module(xt, missing).double().numpy()
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(got, want, **tol)
    assert np.array_equal(np.isneginf(got), np.isneginf(want))
    if domain.size is not None:  # the lookup of a finite domain: one value table per unit
        k = domain.size
        inside = ~np.isnan(x) & (x >= 0) & (x < k)
        codes = torch.as_tensor(np.where(inside, x, k)).long()[None, :]
        with torch.no_grad():
            looked = module.lookup(codes, k).double().numpy()
        np.testing.assert_allclose(looked[:, inside], want[:, inside], **tol)


# -- mode ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,example", _examples())
def test_the_mode_maximizes_the_density(name, example):
    """On a discrete domain the mode is the smallest value of the largest probability; on the
    reals no point of a fine grid is more probable."""
    domain, groups = _groups(name, 3, example)
    spec = family(name)
    for g in groups:
        p = dict(g.params)
        mode = spec.mode(p, domain.discrete)
        at_mode = np.diagonal(spec.log_prob(p, mode))
        if domain.discrete:
            grid = np.arange(0.0, domain.size or 40)       # the whole domain
            values = spec.log_prob(p, grid)                 # (grid, units)
            assert np.array_equal(at_mode, values.max(0)), name
            assert np.array_equal(mode, grid[np.argmax(values, 0)]), name   # ties: smallest
        else:
            grid = np.linspace(-12, 12, 4001)
            assert np.all(spec.log_prob(p, grid) <= at_mode[None, :] + 1e-12), name


# -- sampling -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,example", _examples())
def test_torch_draws_and_spec_samples_have_the_same_distribution(name, example):
    """Per unit: every draw is in the support, and the two backends' means (and, on discrete
    domains, frequencies) agree within sampling error."""
    domain, groups = _groups(name, 4, example)
    spec, module = family(name), _module(name, groups, torch.float64)
    draws = 4000
    p = module.get_params()
    units = sum(g.units for g in groups)
    rows = torch.arange(units).repeat_interleave(draws)
    discrete = torch.full((units,), domain.discrete)
    got = LEAVES[name].draw(p, rows, discrete, torch.Generator().manual_seed(5))
    got = got.numpy().reshape(units, draws)
    rng = np.random.default_rng(6)
    start = 0
    for g in groups:
        params = dict(g.params)
        want = spec.sample(params, domain.discrete, np.repeat(np.arange(g.units), draws), rng)
        want = want.reshape(g.units, draws)
        mine = got[start:start + g.units]
        start += g.units
        for u in range(g.units):
            lp = spec.log_prob(params, mine[u])[:, u]
            assert np.all(np.isfinite(lp)), (name, u)
            spread = max(np.std(want[u]), 1e-9)
            assert abs(mine[u].mean() - want[u].mean()) < 5 * spread * np.sqrt(2 / draws) + 1e-12
            if domain.discrete:
                values = np.union1d(mine[u], want[u])
                f1 = (mine[u][:, None] == values).mean(0)
                f2 = (want[u][:, None] == values).mean(0)
                assert np.max(np.abs(f1 - f2)) < 0.05, (name, u)


# -- EM -------------------------------------------------------------------------------------------
def _weighted_mle(name: str, p: Params, x: np.ndarray, r: np.ndarray) -> Params:
    """The weighted maximum-likelihood estimate written out per family (x, r: (rows, units))."""
    total = r.sum(0)
    if name == "bernoulli":
        return {"p": (r * x).sum(0) / total}
    if name == "binomial":
        return {"n": p["n"], "p": (r * x).sum(0) / (p["n"] * total)}
    if name == "poisson":
        return {"rate": (r * x).sum(0) / total}
    if name == "exponential":
        return {"rate": total / (r * x).sum(0)}
    if name == "gaussian":
        mean = (r * x).sum(0) / total
        return {"mean": mean, "std": np.sqrt((r * (x - mean) ** 2).sum(0) / total)}
    assert name == "categorical"
    k = p["probs"].shape[1]
    counts = np.stack([(r * (x == j)).sum(0) for j in range(k)], 1)
    return {"probs": counts / total[:, None]}


@pytest.mark.parametrize("name", EM_FAMILIES)
def test_the_m_step_on_weighted_data_is_the_weighted_mle(name):
    """Without a prior, statistics + M-step give the weighted MLE, and no small move of the
    parameters raises the weighted log-likelihood (under the spec's density)."""
    domain, groups = _groups(name, 7, None)
    module = _module(name, groups[:1], torch.float64)
    p = module.get_params()
    rng = np.random.default_rng(8)
    units, rows = len(module.var), 300
    spec = family(name)
    params = module.params(0, units)
    x = np.stack([spec.sample(params, domain.discrete, np.full(rows, u), rng)
                  for u in range(units)], 1)
    r = rng.uniform(0, 1, (rows, units))
    stats, total = sufficient_statistics(name, p, torch.as_tensor(x), torch.as_tensor(r))
    new = {k: v.numpy() for k, v in m_step(name, p, stats, total, prior=0.0,
                                           min_std=1e-9).items()}
    want = _weighted_mle(name, {k: v.numpy() for k, v in p.items()}, x, r)
    for key in want:
        ok = np.isfinite(want[key])     # binomial n = 0: p is kept, there is nothing to learn
        np.testing.assert_allclose(new[key][ok], want[key][ok], rtol=1e-9, atol=1e-12)

    def weighted_ll(q: Params) -> np.ndarray:
        return np.array([(r[:, u] * spec.log_prob({k: v[u:u + 1] for k, v in q.items()},
                                                   x[:, u])[:, 0]).sum() for u in range(units)])

    best = weighted_ll(new)
    for step in (1e-3, -1e-3):
        moved = {k: (v if k == "n" else v * (1 + step)) for k, v in new.items()}
        if name == "categorical":
            moved["probs"] = moved["probs"] * (1 + step * np.arange(moved["probs"].shape[1]))
            moved["probs"] = moved["probs"] / moved["probs"].sum(1, keepdims=True)
        if name in ("bernoulli", "binomial"):
            moved["p"] = np.clip(moved["p"], 0, 1)
        assert np.all(weighted_ll(moved) <= best + 1e-9), (name, step)


@pytest.mark.parametrize("name", EM_FAMILIES)
def test_missing_values_add_their_expected_statistics(name):
    """A missing value's statistics equal those of the current parameters' own expectation:
    resampling the missing entries many times averages to the same statistics."""
    domain, groups = _groups(name, 9, None)
    module = _module(name, groups[:1], torch.float64)
    p = module.get_params()
    units = len(module.var)
    x = torch.full((1, units), float("nan"), dtype=torch.float64)
    r = torch.ones((1, units), dtype=torch.float64)
    stats, total = sufficient_statistics(name, p, x, r)
    spec, rng = family(name), np.random.default_rng(10)
    params = module.params(0, units)
    draws = np.stack([spec.sample(params, domain.discrete, np.full(20000, u), rng)
                      for u in range(units)], 1)
    sampled, _ = sufficient_statistics(name, p, torch.as_tensor(draws),
                                       torch.ones(draws.shape, dtype=torch.float64))
    np.testing.assert_allclose(stats.numpy(), sampled.numpy() / 20000, rtol=0.05, atol=0.05)
    assert total.tolist() == [1.0] * units


@pytest.mark.parametrize("name", EM_FAMILIES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_get_and_set_params_round_trip_and_touch_only_the_chosen_units(name, dtype):
    domain, groups = _groups(name, 11, None)
    module = _module(name, groups, dtype)
    before = module.get_params()
    x = torch.as_tensor(np.nan_to_num(_values(domain, np.random.default_rng(12), 20)))[:, None]
    missing = torch.zeros_like(x, dtype=torch.bool)
    with torch.no_grad():
        values = module(x, missing).clone()
    units = torch.tensor([True, False, True, False, True])
    module.set_params(before, units)            # writing the same values changes nothing
    with torch.no_grad():
        again = module(x, missing)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(again, values, rtol=tol, atol=tol)
    target = _groups(name, 13, None)[1]
    new = _module(name, target, torch.float64).get_params()
    new = {k: (before[k] if k == "n" else v) for k, v in new.items()}
    mixed = {k: torch.where(units.reshape(-1, *[1] * (v.dim() - 1)), v, before[k])
             for k, v in new.items()}
    module.set_params(new, units)
    after = module.get_params()
    for k in after:
        torch.testing.assert_close(after[k], mixed[k].to(after[k].dtype), rtol=tol, atol=tol)
        assert torch.equal(after[k][~units], before[k][~units])   # bit for bit


def test_interpolation_mixes_mean_parameters():
    old = {"mean": torch.tensor([0.0]), "std": torch.tensor([1.0])}
    new = {"mean": torch.tensor([2.0]), "std": torch.tensor([1.0])}
    mixed = interpolate("gaussian", old, new, 0.5)
    # E[x] = 1, E[x^2] = (1 + 5) / 2 = 3: variance 2
    assert mixed["mean"].item() == pytest.approx(1.0)
    assert mixed["std"].item() == pytest.approx(np.sqrt(2.0))
    p = interpolate("binomial", {"n": torch.tensor([4]), "p": torch.tensor([0.2])},
                    {"n": torch.tensor([4]), "p": torch.tensor([0.6])}, 0.25)
    assert p["p"].item() == pytest.approx(0.3) and p["n"].tolist() == [4]


# -- what the analyses ask ------------------------------------------------------------------------
@pytest.mark.parametrize("name,example", _examples())
def test_support_and_totals_agree_with_the_density(name, example):
    """A known support is exactly the values of finite log-probability; a family's totals
    (when it has any) are 1 for normalized parameters."""
    domain, groups = _groups(name, 14, example)
    spec = family(name)
    for g in groups:
        p = dict(g.params)
        grid = np.arange(0.0, domain.size or 60)          # the domain (count: its start)
        finite = np.isfinite(spec.log_prob(p, grid))     # (grid, units)
        for u, mask in enumerate(spec.support(p)):
            if mask is not None:
                assert mask == sum(1 << int(v) for v in np.flatnonzero(finite[:, u])), (name, u)
        totals = spec.totals(p)
        if totals is not None:
            np.testing.assert_allclose(totals[0], 1.0, rtol=1e-12)
    # the exponential mixes its mean 1 / rate: (0.5 * 1 + 0.5 * 0.25) -> rate 1.6
    r = interpolate("exponential", {"rate": torch.tensor([1.0])}, {"rate": torch.tensor([4.0])},
                    0.5)
    assert r["rate"].item() == pytest.approx(1.6)
