"""MPE and sampling in the reference interpreter: an upward pass, then a top-down backtrack.

Both walk the groups from the root down with a boolean `active` array (rows, units) per group:
each sum unit picks one input (the best one for MPE, a random one for sampling), products pass
the selection to every child, and inputs fill the missing entries of their variable. On a
smooth, decomposable circuit the selected sub-circuit is a tree with one input per variable.

MPE here is max-product: exact on deterministic circuits, the usual approximation otherwise.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pcc.backends.reference.interpreter import evaluate, product_values
from pcc.data import check_data
from pcc.families import family
from pcc.ir import Circuit, DataError, Input, Product, Sum


def mpe(circuit: Circuit, data: object) -> tuple[np.ndarray, np.ndarray]:
    """Fill each row's missing entries with their max-product values.

    Returns the completed rows and the max-product log-value of each (the log-probability of
    the completed row when the circuit is deterministic)."""
    x = check_data(data, circuit.domains)
    values: list[np.ndarray] = []
    choices: dict[int, np.ndarray] = {}
    for group in circuit.groups:
        if isinstance(group, Input):
            values.append(_input_max(circuit, group, x))
        elif isinstance(group, Product):
            values.append(product_values(group, [values[c] for c in group.children]))
        else:
            terms = _sum_terms(group, [values[c] for c in group.children])
            choices[group.id] = np.argmax(terms, axis=2)
            values.append(np.max(terms, axis=2))
    filled = _backtrack(circuit, x, lambda g, rows, units: choices[g.id][rows, units],
                        lambda g, units: _mode(circuit, g)[units])
    return filled, values[-1][:, 0]


def sample(circuit: Circuit, evidence: object, rng: np.random.Generator) -> np.ndarray:
    """Complete each row of `evidence` (NaN = to sample) with a draw from p(missing | observed).

    Unconditional samples: pass an all-NaN matrix."""
    x = check_data(evidence, circuit.domains)
    values = evaluate(circuit, x)
    zero = np.flatnonzero(values[-1][:, 0] == -np.inf)
    if len(zero):
        raise DataError(f"the evidence of row {int(zero[0])} has probability zero "
                        f"({len(zero)} such rows): there is nothing to sample from")

    def choose(group: Sum, rows: np.ndarray, units: np.ndarray) -> np.ndarray:
        terms = _sum_terms(group, [values[c] for c in group.children])[rows, units]
        weights = np.exp(terms - terms.max(axis=1, keepdims=True))
        cumulative = np.cumsum(weights, axis=1)
        u = rng.random(len(rows)) * cumulative[:, -1]
        return np.minimum((cumulative <= u[:, None]).sum(axis=1), weights.shape[1] - 1)

    def draw(group: Input, units: np.ndarray) -> np.ndarray:
        discrete = circuit.domains[group.var].discrete
        return family(group.family).sample(dict(group.params), discrete, units, rng)

    return _backtrack(circuit, x, choose, draw)


def _mode(circuit: Circuit, group: Input) -> np.ndarray:
    return family(group.family).mode(dict(group.params), circuit.domains[group.var].discrete)


def _input_max(circuit: Circuit, group: Input, x: np.ndarray) -> np.ndarray:
    """log p(x) where observed; the log-value of the unit's mode where missing."""
    params, log_prob = dict(group.params), family(group.family).log_prob
    column = x[:, group.var]
    missing = np.isnan(column)
    best = _mode(circuit, group)
    at_mode = np.diagonal(log_prob(params, best))
    observed = log_prob(params, np.where(missing, best[0], column))
    return np.where(missing[:, None], at_mode[None, :], observed)


def _sum_terms(group: Sum, children: list[np.ndarray]) -> np.ndarray:
    """(rows, units, inputs) log w + input value."""
    with np.errstate(divide="ignore"):
        log_w = np.log(group.weights)[None, :, :]
    if group.mode == "dense":
        return np.concatenate(children, axis=1)[:, None, :] + log_w
    return np.stack(children, axis=2) + log_w


def _backtrack(circuit: Circuit, x: np.ndarray,
               choose: Callable[[Sum, np.ndarray, np.ndarray], np.ndarray],
               draw: Callable[[Input, np.ndarray], np.ndarray]) -> np.ndarray:
    """Walk down from the root unit 0, selecting sum inputs with `choose(group, rows, units)`
    and filling missing entries with `draw(input_group, units)`."""
    out = x.copy()
    active: list[np.ndarray | None] = [None] * len(circuit)
    root = np.zeros((len(x), circuit.root.units), dtype=bool)
    root[:, 0] = True
    active[-1] = root

    def mark(child: int, rows: np.ndarray, units: np.ndarray) -> None:
        selected = active[child]
        if selected is None:
            selected = active[child] = np.zeros((len(x), circuit[child].units), dtype=bool)
        selected[rows, units] = True

    for group in reversed(circuit.groups):
        selected = active[group.id]
        if selected is None or not selected.any():
            continue
        rows, units = np.nonzero(selected)
        if isinstance(group, Input):
            missing = np.isnan(x[rows, group.var])
            out[rows[missing], group.var] = draw(group, units[missing])
        elif isinstance(group, Product):
            sizes = [circuit[c].units for c in group.children]
            parts = np.unravel_index(units, sizes) if group.mode == "kronecker" else \
                [units] * len(sizes)
            for child, child_units in zip(group.children, parts):
                mark(child, rows, child_units)
        else:
            picked = choose(group, rows, units)
            if group.mode == "mixing":
                for i, child in enumerate(group.children):
                    here = picked == i
                    mark(child, rows[here], units[here])
            else:
                starts = np.cumsum([0] + [circuit[c].units for c in group.children])
                which = np.searchsorted(starts, picked, side="right") - 1
                for i, child in enumerate(group.children):
                    here = which == i
                    mark(child, rows[here], picked[here] - starts[i])
    return out
