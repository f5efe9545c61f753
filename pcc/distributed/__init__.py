"""Data-parallel training on several processes or machines with `torch.distributed`.

Launched by `torchrun` (one process per rank), each rank holds a shard of the data and runs the
one training loop, `pcc.learn.fit`, in a `DistributedWorld`: EM sums its statistics over the
ranks before each M-step, Adam runs through `DistributedDataParallel`; N ranks make the same
updates as one process. See docs/distributed.md.

    world = DistributedWorld(setup())          # gloo on CPU, nccl with one GPU per rank
    model = compile(circuit).to(world.device)
    history = fit(model, train, valid, TrainConfig(...), world)
"""

from pcc.distributed.group import DistributedError, ProcessGroup, setup, shutdown
from pcc.distributed.world import DistOptions, DistributedWorld, fit_distributed

__all__ = ["DistOptions", "DistributedError", "DistributedWorld", "ProcessGroup",
           "fit_distributed", "setup", "shutdown"]
