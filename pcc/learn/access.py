"""How EM reaches the parameters of a compiled circuit: the `EMAccess` protocol.

A backend's module offers `em_access()`, returning an object with:
- `forward_taps(x) -> (ll, log_w, inputs)`: log p(x) per row, the flat tensor of normalized
  log-weights that this forward pass used, and per input family the (rows, leaf units)
  log-probabilities it used (0 where the variable is missing), all in the autograd graph;
- `weight_rows`: (weights,) long tensor, the id of the sum unit (row) each weight belongs to;
- `log_weights()` / `set_log_weights(log_w)`: read / write the flat normalized log-weights;
- `input_vars[family]`: (leaf units,) long tensor, the variable of each leaf unit;
- `input_params(family)` / `set_input_params(family, params)`: read / write that family's
  parameters (dict of name -> tensor with a leading leaf-units axis, as in the IR).
"""

from __future__ import annotations

from typing import Protocol

import torch


class EMAccess(Protocol):
    weight_rows: torch.Tensor
    input_vars: dict[str, torch.Tensor]

    def forward_taps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                     dict[str, torch.Tensor]]: ...

    def log_weights(self) -> torch.Tensor: ...

    def set_log_weights(self, log_w: torch.Tensor) -> None: ...

    def input_params(self, family: str) -> dict[str, torch.Tensor]: ...

    def set_input_params(self, family: str, params: dict[str, torch.Tensor]) -> None: ...


def em_access(model: torch.nn.Module) -> EMAccess:
    """The model's `EMAccess`; a TypeError names what is missing."""
    method = getattr(model, "em_access", None)
    if method is None:
        raise TypeError(f"{type(model).__name__} offers no em_access(); EM needs a compiled "
                        "circuit from pcc.backends.torch")
    return method()
