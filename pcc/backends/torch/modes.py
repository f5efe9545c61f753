"""Each input block's parameters and modes for MPE and sampling in the torch backend.

Modes are computed by the spec's own `mode` (`pcc.families`: float64 numpy, ties: the smallest
value) on each input block's *current* parameters, read back through the family modules'
`params(start, stop)`: a trained model's modes follow its training. Draws are the family
module's `draw` (torch ops on the model's device, `pcc.backends.torch.families`) from the same
float64 parameters, stacked per block (ragged axes padded): the same distributions as the
reference, drawn with a `torch.Generator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch

from pcc.backends.torch.families import Family, choose, leaf_class
from pcc.families import family as spec
from pcc.ir import Circuit
from pcc.layering import Block

__all__ = ["LeafParams", "choose", "draw", "leaf_params"]


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
    pads = type(family).ragged
    key = next(iter(pads), None)                   # a ragged parameter: its width per group
    widths = [0] if key is None else [g.params[key].shape[1] for g in groups]  # type: ignore[union-attr]
    # one read for the whole block when rows line up, else one per group (ragged widths)
    bounds = np.concatenate([[0], np.cumsum(units)])
    spans = [(0, int(bounds[-1]))] if len(set(widths)) == 1 else list(pairwise(bounds))
    parts, modes = [], []
    rtol = 1e-5 if family_dtype(family) == torch.float32 else 1e-12
    for (start, stop), members in zip(spans, [groups] if len(spans) == 1 else [[g] for g in groups]):
        p = _as_circuit(family.params(int(start), int(stop)), members, rtol)
        d = discrete[start:stop]
        best = spec(name).mode(p, bool(d.all()))
        if d.any() and not d.all():  # a block over discrete and real variables (histograms)
            best = np.where(d, spec(name).mode(p, True), best)
        parts.append(p)
        modes.append(best)
    params = {k: torch.as_tensor(_stack(pads.get(k, 0.0), [p[k] for p in parts]), device=device)
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


def _stack(fill: float, arrays: list[np.ndarray]) -> np.ndarray:
    """One (rows, ...) array of the groups' arrays, ragged last axes padded with `fill`."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    if arrays[0].ndim == 1:
        return np.concatenate(arrays)
    width = max(a.shape[1] for a in arrays)
    return np.concatenate([np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=fill)
                           for a in arrays])


def draw(leaf: LeafParams, rows: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """One float64 draw from each row of the block listed in `rows` (a long tensor)."""
    return leaf_class(leaf.family).draw(leaf.params, rows, leaf.discrete, gen)
