"""Input families in torch: one module per family (`base` says what each owns), one table.

The leaf evaluation of a family is its module's `log_prob` (the per-family function), called
through the shared `Family.forward` / `lookup` that `CompiledCircuit` runs for every input
block (`pcc.backends.torch.module`)."""

from pcc.backends.torch.families.base import Family, choose
from pcc.backends.torch.families.bernoulli import Bernoulli
from pcc.backends.torch.families.binomial import Binomial
from pcc.backends.torch.families.categorical import Categorical
from pcc.backends.torch.families.gaussian import Gaussian
from pcc.backends.torch.families.histogram import Histogram
from pcc.backends.torch.families.indicator import Indicator
from pcc.backends.torch.families.poisson import Poisson
from pcc.backends.torch.families.table import LEAVES, leaf_class, make_family

__all__ = ["LEAVES", "Bernoulli", "Binomial", "Categorical", "Family", "Gaussian", "Histogram",
           "Indicator", "Poisson", "choose", "leaf_class", "make_family"]
