"""The torch module of every input family, by the name of its spec in `pcc.families` (the same
names, in the same order; a test checks both tables)."""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.families.base import Family
from pcc.backends.torch.families.bernoulli import Bernoulli
from pcc.backends.torch.families.binomial import Binomial
from pcc.backends.torch.families.categorical import Categorical
from pcc.backends.torch.families.exponential import Exponential
from pcc.backends.torch.families.gaussian import Gaussian
from pcc.backends.torch.families.histogram import Histogram
from pcc.backends.torch.families.indicator import Indicator
from pcc.backends.torch.families.poisson import Poisson

LEAVES: dict[str, type[Family]] = {
    "bernoulli": Bernoulli,
    "categorical": Categorical,
    "indicator": Indicator,
    "binomial": Binomial,
    "poisson": Poisson,
    "gaussian": Gaussian,
    "histogram": Histogram,
    "exponential": Exponential,
}


def leaf_class(name: str) -> type[Family]:
    """The torch module class of family `name`; a KeyError naming it otherwise."""
    try:
        return LEAVES[name]
    except KeyError:
        raise KeyError(f"unknown input family {name!r}; the torch backend has "
                       f"{', '.join(LEAVES)}") from None


def make_family(name: str, groups: list, var: np.ndarray, dtype: torch.dtype) -> Family:
    """The module of family `name` over the stacked units of input `groups` (in row order)."""
    return leaf_class(name).build(groups, var, dtype)
