"""Data-parallel training on several processes or machines with `torch.distributed`.

Launched by `torchrun` (one process per rank), each rank holds a shard of the data; EM sums its
statistics over the ranks before each M-step, Adam runs through `DistributedDataParallel`; N ranks
make the same updates as one process (`pcc.learn.fit`). See docs/distributed.md.

    group = setup()                            # gloo on CPU, nccl with one GPU per rank
    model = compile(circuit).to(group.device)
    history = fit_distributed(model, train, valid, TrainConfig(...), DistOptions(...))
"""

from pcc.distributed.checkpoint import CheckpointError
from pcc.distributed.group import DistributedError, Group, setup, shutdown
from pcc.distributed.shard import Shard, mean_log_likelihood, shard_bounds
from pcc.distributed.train import DistOptions, fit_distributed

__all__ = ["CheckpointError", "DistOptions", "DistributedError", "Group", "Shard",
           "fit_distributed", "mean_log_likelihood", "setup", "shard_bounds", "shutdown"]
