"""Checkpoints of training (one format for one process and for the ranks of a job).

A checkpoint holds everything a run needs to go on as if it had never stopped: the model's and
the optimizer's state, the best parameters so far, the history, the position (epoch, and batch
within the epoch for mini-batch training), the generator state that made the epoch's
permutation, and the epoch's log-likelihood so far. Rank 0 alone writes and reads the file and
sends its contents to the other ranks: on two machines without a shared disk only rank 0's
machine has it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from pcc.ir.errors import PccError
from pcc.learn.world import World

FORMAT = "pcc-training-checkpoint/1"
# options that fix what "epoch e, batch b" means: a resumed run must use the same ones
POSITION_KEYS = ("method", "batch_size", "seed", "eval_batch_size")


class CheckpointError(PccError):
    """A checkpoint cannot be resumed from by this run (other data, options or format)."""


def save(path: Path, state: dict[str, Any], world: World) -> None:
    """Rank 0 writes `state` atomically (a crash mid-write keeps the previous checkpoint);
    the other ranks do nothing."""
    if not world.leader:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)


def restore(path: Path | None, world: World, rows: int,
            config: dict[str, Any]) -> dict[str, Any] | None:
    """Rank 0's checkpoint at `path` (None when there is none), on every rank. Raises
    `CheckpointError` on every rank when it does not fit this run."""
    state = None
    if world.leader and path is not None and path.exists():
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as error:  # a torn or foreign file: pickle, zip and torch errors
            state = {"unreadable": f"{type(error).__name__}: {error}"}
    with world.collective("the broadcast of the checkpoint", "the start"):
        state = world.broadcast_object(state)
    if state is None:
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a pcc training checkpoint (expected format "
                              f"{FORMAT}; delete it or name another --checkpoint file)")
    if state["rows"] != rows:
        raise CheckpointError(f"{path}: written for {state['rows']} training rows, "
                              f"this run has {rows}")
    for key in POSITION_KEYS:
        if state["config"].get(key) != config.get(key):
            raise CheckpointError(f"{path}: written with {key}={state['config'].get(key)!r}, "
                                  f"this run has {key}={config.get(key)!r}")
    return state
