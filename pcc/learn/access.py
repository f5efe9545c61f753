"""How EM reaches the parameters of a compiled circuit (`pcc.backends.torch.CompiledCircuit`).

EM's forward pass is the model's own (`CompiledCircuit.run` with `tap_leaves`: the log-weights
and leaf rows it used, for dLL/d(log w) and dLL/d(log p_leaf)); EM also reads and writes those
parameters. `TorchEMAccess` gives them: one `LogTable` per weighted block (a row is one sum
unit; the table reads and writes its own layout) and one family module per input block (rows = leaf units), whose `get_params` /
`set_params` hide how each family stores its parameters.
"""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.families import Family
from pcc.backends.torch.module import CompiledCircuit
from pcc.backends.torch.params import LogTable


class TorchEMAccess:
    """EM's view of a `CompiledCircuit`: weight tables and leaf parameters."""

    def __init__(self, model: CompiledCircuit):
        self.model = model
        self.tables: list[LogTable] = model.weight_tables()
        self.weight_live = [t.live_rows() for t in self.tables]
        self.leaves: list[Family] = list(model.family_list)
        self.input_families = [leaf.name for leaf in self.leaves]
        self.input_vars: list[torch.Tensor] = [leaf.var for leaf in self.leaves]
        ends = np.cumsum([0] + [len(v) for v in self.input_vars]).tolist()
        self.input_rows = list(zip(ends[:-1], ends[1:]))

    def log_weights(self) -> list[torch.Tensor]:
        with torch.no_grad():
            return [t() for t in self.tables]

    def set_log_weights(self, log_ws: list[torch.Tensor]) -> None:
        """Write normalized log-weights (-inf and padding entries are left as they are)."""
        for table, lw, live in zip(self.tables, log_ws, self.weight_live):
            table.assign(lw, live)

    def input_params(self, i: int) -> dict[str, torch.Tensor]:
        """Parameters of input block i as float64 tensors with a leading units axis."""
        leaf = self.leaves[i]
        if not leaf.trainable:
            raise ValueError(f"EM cannot train {leaf.name} inputs (input block {i})")
        return leaf.get_params()

    def set_input_params(self, i: int, params: dict[str, torch.Tensor],
                         units: torch.Tensor) -> None:
        """Write the parameters of the `units` (bool mask) of input block i; the other units'
        stored values are not touched at all (not even rounded through a log and back)."""
        self.leaves[i].set_params(params, units)


def em_access(model: torch.nn.Module) -> TorchEMAccess:
    """EM's access to `model`; a TypeError when it is not a compiled circuit."""
    if not isinstance(model, CompiledCircuit):
        raise TypeError(f"EM needs a CompiledCircuit from pcc.backends.torch, got "
                        f"{type(model).__name__}")
    return TorchEMAccess(model)
