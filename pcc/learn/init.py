"""Data-based initialization of input units, before training.

Why: a binomial input with n trials (n = 255 for pixels) scores a value x with
x log p + (n - x) log(1 - p), so units whose random p differ by a little already sit hundreds of
nats apart. From the first batch on, one unit per variable takes all the posterior mass; the
others get responsibilities that underflow to exactly zero, EM leaves them where they are, and
they never come back (MNIST with a Poon-Domingos EiNet: half the leaf units never moved).
Starting every unit of variable v near the empirical mean of v, with a little noise in logit
space to break the symmetry, keeps all units within reach of the data from the start.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pcc.backends.torch.families import LEAVES
from pcc.learn.access import em_access

INIT_FAMILIES = tuple(name for name, cls in LEAVES.items() if cls.init_from_data)
EDGE = 0.01  # initial p stays in [EDGE, 1 - EDGE]: no unit starts out ruling a value out


def init_inputs_from_data(model: torch.nn.Module, data: np.ndarray,
                          families: Sequence[str] = ("binomial",), noise: float = 0.5,
                          seed: int = 0) -> int:
    """Set p of every input unit of `families` (binomial, bernoulli) in `model` to the mean of
    its variable over the observed values of `data` (rows, variables; NaN = missing), divided by
    n, clipped to [EDGE, 1 - EDGE] and moved by N(0, noise^2) in logit space. Units whose
    variable is missing in every row keep their parameters. Returns how many units were set."""
    unknown = sorted(set(families) - set(INIT_FAMILIES))
    if unknown:
        raise ValueError(f"no data-based initialization for {', '.join(unknown)} inputs; "
                         f"known: {', '.join(INIT_FAMILIES)}")
    access = em_access(model)
    rng = np.random.default_rng(seed)
    data = np.asarray(data, dtype=np.float64)
    seen = (~np.isnan(data)).sum(0)
    mean = np.nansum(data, 0) / np.maximum(seen, 1)
    count = 0
    for i, leaf in enumerate(access.leaves):
        if leaf.name not in families:
            continue
        old = access.input_params(i)
        var = access.input_vars[i].cpu().numpy()
        n = leaf.trials(old).cpu().numpy()  # p is the mean over n trials
        p = np.clip(mean[var] / np.maximum(n, 1), EDGE, 1 - EDGE)
        logit = np.log(p / (1 - p)) + noise * rng.standard_normal(len(var))
        device = old["p"].device
        units = torch.as_tensor(seen[var] > 0, device=device)
        new = dict(old, p=torch.as_tensor(1 / (1 + np.exp(-logit)), device=device))
        access.set_input_params(i, new, units=units)
        count += int(units.sum())
    return count
