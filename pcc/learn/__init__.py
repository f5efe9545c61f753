"""Training compiled circuits: EM (full-batch and online, as in EiNets) and Adam on the
log-likelihood, with early stopping, checkpoints and a progress bar."""

from pcc.learn.em import EM
from pcc.learn.trainer import History, TrainConfig, fit, mean_log_likelihood

__all__ = ["EM", "History", "TrainConfig", "fit", "mean_log_likelihood"]
