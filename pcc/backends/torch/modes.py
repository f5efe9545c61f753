"""Each input family's mode and sampler for the torch backend.

The spec is `pcc.backends.reference.modes`. Modes are computed by that very function (float64
numpy, ties: the smallest value) on each input block's *current* parameters, read back through
the family modules' `params(start, stop)`: a trained model's modes follow its training. Draws are
torch ops on the model's device from the same float64 parameters, stacked per block (ragged
axes padded): the same distributions as the reference, drawn with a `torch.Generator`.
Dispatch is the explicit table `SAMPLERS`, keyed by family name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch

from pcc.backends.reference.modes import mode
from pcc.backends.torch.families import Family
from pcc.ir import REAL, Circuit, Domain
from pcc.layering import Block

RAGGED = {"categorical": ("probs",), "histogram": ("breaks", "densities")}
DISCRETE = Domain("count")  # any discrete domain: a histogram's mode only asks `discrete`


@dataclass(frozen=True)
class LeafParams:
    """One input block's parameters as float64 (rows, ...) tensors, its per-row modes and
    whether each row's variable is discrete. Ragged axes are padded: probs and densities
    with 0, breaks with +inf."""

    family: str
    params: dict[str, torch.Tensor]
    modes: torch.Tensor
    discrete: torch.Tensor


def leaf_params(circuit: Circuit, block: Block, family: Family,
                device: torch.device) -> LeafParams:
    """The parameters and modes of the input block `block`, evaluated by module `family`.
    One read of the module's parameters for the whole block, or one per group when a ragged
    family's widths differ between groups."""
    name = block.family
    assert name is not None  # input blocks always name their family
    groups = [circuit[int(g)] for g in block.groups]
    units = np.array([g.units for g in groups], dtype=np.int64)
    discrete = np.repeat([circuit.domains[g.var].discrete for g in groups], units)  # type: ignore[union-attr]
    widths = [g.params[RAGGED[name][0]].shape[1] for g in groups] if name in RAGGED else [0]  # type: ignore[union-attr]
    # one read for the whole block when rows line up, else one per group (ragged widths)
    bounds = np.concatenate([[0], np.cumsum(units)])
    spans = [(0, int(bounds[-1]))] if len(set(widths)) == 1 else list(pairwise(bounds))
    parts, modes = [], []
    rtol = 1e-5 if family_dtype(family) == torch.float32 else 1e-12
    for (start, stop), members in zip(spans, [groups] if len(spans) == 1 else [[g] for g in groups]):
        p = _as_circuit(family.params(int(start), int(stop)), members, rtol)
        d = discrete[start:stop]
        best = mode(name, p, DISCRETE)
        if name == "histogram" and not d.all():
            best = np.where(d, best, mode(name, p, REAL))
        parts.append(p)
        modes.append(best)
    params = {k: torch.as_tensor(_stack(k, [p[k] for p in parts]), device=device)
              for k in parts[0]}
    return LeafParams(name, params, torch.as_tensor(np.concatenate(modes), device=device),
                      torch.as_tensor(discrete, device=device))


def family_dtype(family: Family) -> torch.dtype:
    return family.dtype  # type: ignore[return-value]


def _as_circuit(current: dict[str, np.ndarray], groups: list, rtol: float) -> dict[str, np.ndarray]:
    """The circuit's own parameters when the module's equal them up to its dtype's rounding
    (an untrained model: modes then match the reference exactly, ties included), else the
    module's current (trained) ones."""
    own = {k: np.concatenate([g.params[k] for g in groups]) for k in current}
    same = all(np.shape(own[k]) == np.shape(current[k]) and
               np.allclose(current[k], own[k], rtol=rtol, atol=0.0) for k in current)
    return own if same else current


def _stack(key: str, arrays: list[np.ndarray]) -> np.ndarray:
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    if arrays[0].ndim == 1:
        return np.concatenate(arrays)
    width = max(a.shape[1] for a in arrays)
    fill = np.inf if key == "breaks" else 0.0
    return np.concatenate([np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=fill)
                           for a in arrays])


# -- sampling ---------------------------------------------------------------------------------
def _uniform(n: int, like: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=gen, dtype=torch.float64, device=like.device)


def choose(log_weights: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """One index per row of (n, F) log-weights, drawn in proportion to exp(log weight).

    Inverse CDF in float64 after subtracting each row's max; -inf weights are never drawn.
    """
    lw = log_weights.double()
    peak = lw.amax(dim=1, keepdim=True)
    cumulative = torch.cumsum(torch.exp(lw - torch.where(torch.isfinite(peak), peak, 0.0)), 1)
    u = _uniform(len(lw), lw, gen) * cumulative[:, -1]
    return (cumulative <= u[:, None]).sum(dim=1).clamp(max=lw.shape[1] - 1)


def _log(a: torch.Tensor) -> torch.Tensor:
    return torch.log(a)  # log 0 = -inf: a weight that is never drawn


def _bernoulli(p: dict[str, torch.Tensor], rows: torch.Tensor, discrete: torch.Tensor,
               gen: torch.Generator | None) -> torch.Tensor:
    q = p["p"][rows]
    return (_uniform(len(rows), q, gen) < q).double()


def _categorical(p: dict[str, torch.Tensor], rows: torch.Tensor, discrete: torch.Tensor,
                 gen: torch.Generator | None) -> torch.Tensor:
    return choose(_log(p["probs"][rows]), gen).double()


def _indicator(p: dict[str, torch.Tensor], rows: torch.Tensor, discrete: torch.Tensor,
               gen: torch.Generator | None) -> torch.Tensor:
    return p["value"][rows]


def _binomial(p: dict[str, torch.Tensor], rows: torch.Tensor, discrete: torch.Tensor,
              gen: torch.Generator | None) -> torch.Tensor:
    return torch.binomial(p["n"][rows], p["p"][rows], generator=gen)


def _poisson(p: dict[str, torch.Tensor], rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
    return torch.poisson(p["rate"][rows], generator=gen)


def _gaussian(p: dict[str, torch.Tensor], rows: torch.Tensor, discrete: torch.Tensor,
              gen: torch.Generator | None) -> torch.Tensor:
    mean = p["mean"][rows]
    noise = torch.randn(len(rows), generator=gen, dtype=torch.float64, device=mean.device)
    return mean + p["std"][rows] * noise


def _histogram(p: dict[str, torch.Tensor], rows: torch.Tensor, discrete: torch.Tensor,
               gen: torch.Generator | None) -> torch.Tensor:
    """A bin drawn by mass, then a point inside it: uniform over the reals; over a discrete
    domain a uniformly drawn integer of [b_i, b_i+1) (each has the bin's density)."""
    breaks, density = p["breaks"][rows], p["densities"][rows]
    valid = torch.isfinite(breaks[:, 1:])
    low, high = breaks[:, :-1], breaks[:, 1:]
    first = torch.ceil(low)
    counts = torch.where(valid, (torch.ceil(high) - first).clamp(min=0), 0.0)
    widths = torch.where(valid, high - low, 0.0)
    disc = discrete[rows][:, None]
    bins = choose(_log(density * torch.where(disc, counts, widths)), gen)[:, None]
    u = _uniform(len(rows), breaks, gen)
    integer = first.gather(1, bins)[:, 0] + torch.floor(u * counts.gather(1, bins)[:, 0])
    real = low.gather(1, bins)[:, 0] + u * widths.gather(1, bins)[:, 0]
    return torch.where(disc[:, 0], integer, real)


Sampler = Callable[[dict, torch.Tensor, torch.Tensor, "torch.Generator | None"], torch.Tensor]
SAMPLERS: dict[str, Sampler] = {
    "bernoulli": _bernoulli, "categorical": _categorical, "indicator": _indicator,
    "binomial": _binomial, "poisson": _poisson, "gaussian": _gaussian, "histogram": _histogram,
}


def draw(leaf: LeafParams, rows: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """One float64 draw from each row of the block listed in `rows` (a long tensor)."""
    return SAMPLERS[leaf.family](leaf.params, rows, leaf.discrete, gen)
