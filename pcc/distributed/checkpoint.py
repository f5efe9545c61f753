"""Checkpoints of distributed training: written by rank 0, read by rank 0, sent to every rank.

A checkpoint holds everything a run needs to go on as if it had never stopped: the model's and the
optimizer's state, the best parameters so far, the history, the position (epoch, and batch within
the epoch for mini-batch training), the generator state that made the epoch's permutation, and the
epoch's log-likelihood so far. Ranks never read the file themselves: on two machines without a
shared disk only rank 0's machine has it, so rank 0 broadcasts its contents.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from pcc.distributed.group import Group, broadcast_object, collective
from pcc.ir.errors import PccError

FORMAT = "pcc-distributed-checkpoint/1"
# options that fix what "epoch e, batch b" means: a resumed run must use the same ones
POSITION_KEYS = ("method", "batch_size", "seed", "eval_batch_size")


class CheckpointError(PccError):
    """A checkpoint cannot be resumed from by this run (other data, options or format)."""


def save(path: Path, state: dict[str, Any], group: Group) -> None:
    """Rank 0 writes `state` atomically (a crash mid-write keeps the previous checkpoint);
    the other ranks do nothing."""
    if not group.leader:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)


def restore(path: Path | None, group: Group, rows: int,
            config: dict[str, Any]) -> dict[str, Any] | None:
    """Rank 0's checkpoint at `path` (None when there is none), on every rank. Raises
    `CheckpointError` on every rank when it does not fit this run."""
    state = None
    if group.leader and path is not None and path.exists():
        state = torch.load(path, map_location="cpu", weights_only=False)
    with collective("the broadcast of the checkpoint", "the start", group.timeout):
        state = broadcast_object(state, group.device) if group.world > 1 else state
    if state is None:
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a checkpoint of distributed training "
                              f"(expected format {FORMAT})")
    if state["rows"] != rows:
        raise CheckpointError(f"{path}: written for {state['rows']} training rows, "
                              f"this run has {rows}")
    for key in POSITION_KEYS:
        if state["config"].get(key) != config.get(key):
            raise CheckpointError(f"{path}: written with {key}={state['config'].get(key)!r}, "
                                  f"this run has {key}={config.get(key)!r}")
    return state
