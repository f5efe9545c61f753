"""hypothesis strategies for random *valid* circuits and matching data, shared by every test.

`circuits()` draws a smooth, decomposable circuit over random domains: random scope partitions,
dense and mixing sums, hadamard and kronecker products, every input family, 1..4 units, shared
sub-circuits (DAGs), weights with exact zeros. `data_for(circuit)` draws rows in the circuit's
domains with NaN for missing values.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from pcc.ir import BINARY, COUNT, REAL, Circuit, CircuitBuilder, Domain, categorical

DISCRETE_DOMAINS = st.one_of(st.just(BINARY), st.integers(2, 4).map(categorical))
ALL_DOMAINS = st.one_of(DISCRETE_DOMAINS, st.just(REAL), st.just(COUNT))


def _simplex(draw: st.DrawFn, shape: tuple[int, ...], zeros: bool = True) -> np.ndarray:
    """Random rows on the probability simplex (last axis), sometimes with exact zeros."""
    raw = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=int(np.prod(shape)),
                                 max_size=int(np.prod(shape))))).reshape(shape)
    if zeros and shape[-1] > 1 and draw(st.booleans()):
        mask = np.array(draw(st.lists(st.booleans(), min_size=raw.size, max_size=raw.size)))
        mask = mask.reshape(shape)
        mask[..., 0] = False  # keep every row with some mass
        raw = np.where(mask, 0.0, raw)
    return raw / raw.sum(axis=-1, keepdims=True)


def _input(draw: st.DrawFn, b: CircuitBuilder, var: int, units: int) -> int:
    domain = b.domains[var]
    size = domain.size
    options = {
        "binary": ["bernoulli", "categorical", "indicator", "binomial", "histogram"],
        "categorical": ["categorical", "indicator", "binomial", "histogram"],
        "count": ["poisson", "binomial", "categorical", "indicator", "histogram"],
        "real": ["gaussian", "histogram"],
    }[domain.kind]
    family = draw(st.sampled_from(options))
    probs = st.lists(st.floats(0.01, 0.99), min_size=units, max_size=units)
    if family == "bernoulli":
        return b.bernoulli(var, p=draw(probs))
    if family == "categorical":
        k = size if size is not None else draw(st.integers(1, 4))
        return b.categorical(var, probs=_simplex(draw, (units, k)))
    if family == "indicator":
        top = (size - 1) if size is not None else 3
        return b.indicator(var, value=draw(st.lists(st.integers(0, top), min_size=units,
                                                    max_size=units)))
    if family == "binomial":
        top = (size - 1) if size is not None else 5
        n = draw(st.lists(st.integers(0 if size is None else top, top), min_size=units,
                          max_size=units))
        return b.binomial(var, n=n, p=draw(probs))
    if family == "poisson":
        return b.poisson(var, rate=draw(st.lists(st.floats(0.1, 5.0), min_size=units,
                                                 max_size=units)))
    if family == "gaussian":
        return b.gaussian(var, mean=draw(st.lists(st.floats(-3, 3), min_size=units,
                                                  max_size=units)),
                          std=draw(st.lists(st.floats(0.3, 3), min_size=units, max_size=units)))
    # histogram: integer breaks covering the domain for discrete variables, random for reals
    if size is not None:
        breaks = np.tile(np.arange(size + 1, dtype=float), (units, 1))
    elif domain.kind == "count":
        breaks = np.tile(np.arange(5, dtype=float), (units, 1))
    else:
        steps = np.array(draw(st.lists(st.floats(0.2, 2.0), min_size=3, max_size=3)))
        start = draw(st.floats(-3, 0))
        breaks = np.tile(np.concatenate([[start], start + np.cumsum(steps)]), (units, 1))
    mass = _simplex(draw, (units, breaks.shape[1] - 1), zeros=False)
    return b.histogram(var, breaks=breaks, densities=mass / np.diff(breaks, axis=1))


@st.composite
def circuits(draw: st.DrawFn, domains: st.SearchStrategy[Domain] = ALL_DOMAINS,
             max_vars: int = 4, max_depth: int = 4, max_units: int = 3) -> Circuit:
    """A random smooth, decomposable, normalized circuit with a one-unit root."""
    n = draw(st.integers(1, max_vars))
    b = CircuitBuilder(draw(st.lists(domains, min_size=n, max_size=n)))
    made: dict[tuple[tuple[int, ...], int], list[int]] = {}

    def node(scope: tuple[int, ...], units: int, depth: int) -> int:
        key = (scope, units)
        if made.get(key) and draw(st.integers(0, 3)) == 0:
            return draw(st.sampled_from(made[key]))  # share a sub-circuit: a DAG
        choices = ["dense", "mixing"] if depth > 0 else []
        if len(scope) > 1:
            choices += ["hadamard", "kronecker"]
        elif depth == 0 or draw(st.booleans()):
            choices = ["input"]
        kind = draw(st.sampled_from(choices))
        if kind == "input":
            id = _input(draw, b, scope[0], units)
        elif kind == "dense":
            sizes = draw(st.lists(st.integers(1, max_units), min_size=1, max_size=3))
            kids = [node(scope, u, depth - 1) for u in sizes]
            id = b.sum(kids, _simplex(draw, (units, sum(sizes))))
        elif kind == "mixing":
            kids = [node(scope, units, depth - 1) for _ in range(draw(st.integers(1, 3)))]
            id = b.mixture(kids, _simplex(draw, (units, len(kids))))
        else:
            parts = _partition(draw, scope)
            if kind == "hadamard":
                kids = [node(p, units, max(depth - 1, 0)) for p in parts]
                id = b.product(kids)
            else:
                sizes = [units] + [1] * (len(parts) - 1)
                order = draw(st.permutations(range(len(parts))))
                kids = [node(parts[i], sizes[k], max(depth - 1, 0)) for k, i in enumerate(order)]
                id = b.product(kids, mode="kronecker")
        made.setdefault(key, []).append(id)
        return id

    root_kids = draw(st.integers(1, 3))
    top = [node(tuple(range(n)), draw(st.integers(1, max_units)), max_depth)
           for _ in range(root_kids)]
    total = sum(b.units(t) for t in top)
    b.sum(top, _simplex(draw, (1, total)))
    return b.build()


def _partition(draw: st.DrawFn, scope: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Split `scope` into 2..3 non-empty, disjoint parts."""
    parts_count = draw(st.integers(2, min(3, len(scope))))
    labels = list(range(parts_count)) + draw(st.lists(st.integers(0, parts_count - 1),
                                                      min_size=len(scope) - parts_count,
                                                      max_size=len(scope) - parts_count))
    labels = draw(st.permutations(labels))
    return [tuple(v for v, l in zip(scope, labels) if l == p) for p in range(parts_count)]


@st.composite
def data_for(draw: st.DrawFn, circuit: Circuit, max_rows: int = 6,
             missing: bool = True) -> np.ndarray:
    """Rows of values in the circuit's domains; with `missing`, some entries are NaN."""
    rows = draw(st.integers(1, max_rows))
    columns = []
    for domain in circuit.domains:
        if domain.kind == "real":
            values = st.floats(-4, 4)
        elif domain.kind == "count":
            values = st.integers(0, 7).map(float)
        else:
            values = st.integers(0, domain.size - 1).map(float)
        if missing:
            values = st.one_of(values, st.just(float("nan")))
        columns.append(draw(st.lists(values, min_size=rows, max_size=rows)))
    return np.array(columns, dtype=np.float64).T.reshape(rows, circuit.num_vars)


def all_assignments(circuit: Circuit) -> np.ndarray:
    """Every joint assignment of a circuit over binary/categorical variables, one per row."""
    grids = np.meshgrid(*[np.arange(d.size) for d in circuit.domains], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.float64)


@st.composite
def deterministic_circuits(draw: st.DrawFn, max_vars: int = 4) -> Circuit:
    """A random deterministic, smooth, decomposable circuit over discrete variables: sums split
    on the value of one variable (indicator x sub-circuit), as in decision-tree-shaped PSDDs."""
    n = draw(st.integers(1, max_vars))
    b = CircuitBuilder(draw(st.lists(DISCRETE_DOMAINS, min_size=n, max_size=n)))

    def node(scope: tuple[int, ...]) -> int:
        if len(scope) == 1 and draw(st.booleans()):
            size = b.domains[scope[0]].size
            return b.categorical(scope[0], _simplex(draw, (1, size)))
        var = draw(st.sampled_from(scope))
        rest = tuple(v for v in scope if v != var)
        values = draw(st.lists(st.integers(0, b.domains[var].size - 1), min_size=1,
                               max_size=b.domains[var].size, unique=True))
        kids = []
        for value in values:
            literal = b.indicator(var, value)
            if not rest:
                kids.append(literal)
            elif draw(st.booleans()):
                kids.append(b.product([literal, node(rest)]))
            else:
                parts = _partition(draw, rest) if len(rest) > 1 else [rest]
                kids.append(b.product([literal] + [node(p) for p in parts]))
        return b.sum(kids, _simplex(draw, (1, len(kids)), zeros=False))

    node(tuple(range(n)))
    return b.build()
