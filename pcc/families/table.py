"""Every input family pcc knows, by name: the one table that the IR, the reference interpreter
and the frontends dispatch through. Its order is the order of the input blocks of a layered plan.
The torch side has its own table with the same names (`pcc.backends.torch.families.table`)."""

from __future__ import annotations

from pcc.families.base import Family
from pcc.families.bernoulli import Bernoulli
from pcc.families.binomial import Binomial
from pcc.families.categorical import Categorical
from pcc.families.exponential import Exponential
from pcc.families.gaussian import Gaussian
from pcc.families.histogram import Histogram
from pcc.families.indicator import Indicator
from pcc.families.poisson import Poisson

FAMILIES: dict[str, Family] = {
    "bernoulli": Bernoulli(),
    "categorical": Categorical(),
    "indicator": Indicator(),
    "binomial": Binomial(),
    "poisson": Poisson(),
    "gaussian": Gaussian(),
    "histogram": Histogram(),
    "exponential": Exponential(),
}


def family(name: str) -> Family:
    """The family called `name`; a KeyError naming it and the known ones otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown input family {name!r}; known: {', '.join(FAMILIES)}") from None
