"""Training compiled circuits: EM (full-batch and online, as in EiNets), Adam on the
log-likelihood and the closed-form MLE of deterministic circuits (`mle`), with early stopping,
checkpoints and progress, in one process or on the ranks of a `torchrun` job (a `World`:
`pcc.learn.world`, `pcc.distributed`); the history beside the model (`pcc.learn.curve`)."""

from pcc.learn.checkpoint import CheckpointError
from pcc.learn.config import History, TrainConfig
from pcc.learn.curve import history_paths, plot_history, write_history
from pcc.learn.em import EM
from pcc.learn.mle import MLE_PRIOR, NotDeterministicError, mle
from pcc.learn.trainer import fit, mean_log_likelihood
from pcc.learn.world import LOCAL, Shard, World, shard_bounds

__all__ = ["CheckpointError", "EM", "History", "LOCAL", "MLE_PRIOR", "NotDeterministicError",
           "Shard", "TrainConfig", "World", "fit", "history_paths", "mean_log_likelihood", "mle",
           "plot_history", "shard_bounds", "write_history"]
