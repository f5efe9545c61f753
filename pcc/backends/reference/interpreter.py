"""The reference interpreter: float64 numpy, one group at a time in topological order.

It is the executable spec of pcc: every other backend and transform is tested against it.
No cleverness here: each node kind is one short function, and results live in a local list.
"""

from __future__ import annotations

import numpy as np

from pcc.data import check_data
from pcc.families import family
from pcc.ir import Circuit, Input, Product, Sum


def log_likelihood(circuit: Circuit, data: object) -> np.ndarray:
    """log p(x) for each row of `data` (rows, variables); NaN entries are marginalized."""
    root = evaluate(circuit, data)[-1]
    return root[:, 0] if root.shape[1] == 1 else root


def evaluate(circuit: Circuit, data: object) -> list[np.ndarray]:
    """The (rows, units) log-values of every group, indexed by group id."""
    x = check_data(data, circuit.domains)
    values: list[np.ndarray] = []
    for group in circuit.groups:
        if isinstance(group, Input):
            values.append(_input(group, x))
        elif isinstance(group, Product):
            values.append(product_values(group, [values[c] for c in group.children]))
        else:
            values.append(_sum(group, [values[c] for c in group.children]))
    return values


def _input(group: Input, x: np.ndarray) -> np.ndarray:
    column = x[:, group.var]
    missing = np.isnan(column)
    out = family(group.family).log_prob(dict(group.params), np.where(missing, 0.0, column))
    out[missing] = 0.0  # a marginalized variable: log of a density integrated to 1
    return out


def product_values(group: Product, children: list[np.ndarray]) -> np.ndarray:
    """(rows, units) log-values of a product from its children's (shared with MPE)."""
    if group.mode == "hadamard":
        return np.sum(children, axis=0)
    out = children[0]
    for child in children[1:]:
        out = (out[:, :, None] + child[:, None, :]).reshape(len(out), -1)
    return out


def _sum(group: Sum, children: list[np.ndarray]) -> np.ndarray:
    with np.errstate(divide="ignore"):
        log_w = np.log(group.weights)
    if group.mode == "dense":
        inputs = np.concatenate(children, axis=1)                 # (rows, inputs)
        terms = inputs[:, None, :] + log_w[None, :, :]            # (rows, units, inputs)
    else:
        inputs = np.stack(children, axis=2)                       # (rows, units, children)
        terms = inputs + log_w[None, :, :]
    return logsumexp(terms, axis=2)


def logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(a))) along `axis`; all -inf gives -inf (never NaN)."""
    peak = np.max(a, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(a - peak), axis=axis)) + np.squeeze(peak, axis=axis)
