"""The reference interpreter (float64 numpy, per group): the executable spec."""

from pcc.backends.reference.interpreter import evaluate, log_likelihood

__all__ = ["evaluate", "log_likelihood"]
