"""Training compiled circuits: EM (full-batch and online, as in EiNets) and Adam on the
log-likelihood, with early stopping, checkpoints and progress, in one process or on the ranks of
a `torchrun` job (a `World`: `pcc.learn.world`, `pcc.distributed`)."""

from pcc.learn.checkpoint import CheckpointError
from pcc.learn.config import History, TrainConfig
from pcc.learn.em import EM
from pcc.learn.trainer import fit, mean_log_likelihood
from pcc.learn.world import LOCAL, Shard, World, shard_bounds

__all__ = ["CheckpointError", "EM", "History", "LOCAL", "Shard", "TrainConfig", "World", "fit",
           "mean_log_likelihood", "shard_bounds"]
