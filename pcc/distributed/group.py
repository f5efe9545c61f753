"""The process group: set up from torchrun's environment, collectives that fail cleanly.

`setup()` joins the group that `torchrun` (or anything that sets its variables: RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) describes: `nccl` with one GPU per process
when CUDA is available, `gloo` on CPU otherwise; the rest of the code is the same for both.
Every collective runs under `collective(what, where)`: when a peer dies or stalls past the
timeout, torch raises from inside the backend; we turn that into one `DistributedError` that
names this rank, the operation and the position in training, instead of a hang or a C++ trace.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from pcc.ir.errors import PccError

DEFAULT_TIMEOUT = 300.0  # seconds a collective waits for the slowest rank before failing
ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class DistributedError(PccError):
    """A collective failed (a rank died, stalled past the timeout, or could not connect)."""


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place in the job: rank of world, its device and the backend."""

    rank: int
    world: int
    local_rank: int
    backend: str
    device: torch.device
    timeout: float

    @property
    def leader(self) -> bool:
        """Rank 0: the one that writes checkpoints, output files and the progress bar."""
        return self.rank == 0


def setup(backend: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> ProcessGroup:
    """Join (or reuse) the default process group; idempotent.

    `backend=None` picks `nccl` when CUDA is available, else `gloo`. Each nccl rank uses GPU
    LOCAL_RANK. Raises `DistributedError` when torchrun's variables are missing or the other
    ranks do not show up within `timeout` seconds."""
    if timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
    if not dist.is_available():
        raise DistributedError("this torch build has no torch.distributed")
    if not dist.is_initialized():
        missing = [name for name in ENV if name not in os.environ]
        if missing:
            raise DistributedError(
                f"distributed training needs the environment torchrun sets ({', '.join(missing)} "
                "unset); start it with: torchrun --nproc-per-node N -m pcc.cli.main train ...")
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if backend == "nccl":
            # before the group exists: nccl binds each rank's communicator to its current GPU
            torch.cuda.set_device(local_rank)
        with collective("joining the process group", f"rank {os.environ['RANK']}", timeout):
            dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
    backend = str(dist.get_backend())
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank) if backend == "nccl" else torch.device("cpu")
    return ProcessGroup(dist.get_rank(), dist.get_world_size(), local_rank, backend, device,
                        timeout)


def shutdown() -> None:
    """Leave the process group (after training and evaluation; a no-op when not joined)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def collective(what: str, where: str, timeout: float) -> Iterator[None]:
    """Run a block of collectives; a backend failure becomes one `DistributedError`."""
    try:
        yield
    except RuntimeError as error:  # gloo and nccl raise RuntimeError (or DistBackendError)
        rank = dist.get_rank() if dist.is_initialized() else os.environ.get("RANK", "?")
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DistributedError(
            f"rank {rank} stopped at {where} during {what}: another rank died or did not answer "
            f"within {timeout:g} s ({_short(reason)})") from error


def _short(reason: str, limit: int = 200) -> str:
    # backend messages start with a source path in brackets and end with generic advice:
    # the first sentence after the path is the useful part
    if reason.startswith("[") and "] " in reason:
        reason = reason.split("] ", 1)[1]
    reason = reason.split(". ", 1)[0].rstrip(".")
    return reason if len(reason) <= limit else reason[:limit] + "..."


def all_reduce_sum(tensors: list[torch.Tensor]) -> None:
    """Sum each tensor over all ranks, in place, in one collective (packed into one buffer:
    one message per step instead of one per tensor). All tensors share one dtype and device."""
    if not tensors or dist.get_world_size() == 1:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


def broadcast_object(obj: Any, device: torch.device) -> Any:
    """Rank 0's `obj` on every rank (pickled; tensors inside come back on the CPU)."""
    box = [obj if dist.get_rank() == 0 else None]
    dist.broadcast_object_list(box, src=0, device=device if device.type == "cuda" else None)
    return box[0]


def broadcast_tensors(tensors: list[torch.Tensor]) -> None:
    """Overwrite each tensor in place with rank 0's values (one collective per dtype)."""
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        flat = torch.cat([t.detach().reshape(-1) for t in group])
        dist.broadcast(flat, src=0)
        offset = 0
        with torch.no_grad():
            for t in group:
                t.copy_(flat[offset:offset + t.numel()].view_as(t))
                offset += t.numel()


def all_gather_sizes(size: int, device: torch.device) -> list[int]:
    """Every rank's `size`, in rank order."""
    mine = torch.tensor([size], dtype=torch.int64, device=device)
    out = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(out, mine)
    return [int(t.item()) for t in out]
