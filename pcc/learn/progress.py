"""Training progress on stderr: one line per epoch (epoch 0: the initial model), and on a
terminal also a tqdm bar within the epoch.

Why: tqdm redraws its bar with a carriage return per batch; written to a file or a pipe
(`make run > log 2>&1`) that is one ~30 KB line of overwritten bars. A log wants one line per
epoch, so the bar is used only where something redraws it: a terminal or a notebook. The epoch
lines are printed above the bar (tqdm's write), so they stay when the bar goes.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Progress:
    """Reports the epochs of one run; silent when `enabled` is false."""

    def __init__(self, enabled: bool, epochs: int, stream: TextIO | None = None):
        self.enabled, self.epochs = enabled, epochs
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Any = None
        if enabled and _redraws(self.stream):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=0, leave=False, dynamic_ncols=True, unit="batch",
                            file=self.stream)

    def start_epoch(self, epoch: int, batches: int, done: int) -> None:
        """Epoch `epoch` (0-based) of `batches` batches begins, `done` of them already made
        (a resumed run)."""
        if self.bar is not None:
            self.bar.reset(total=batches)
            self.bar.update(done)
            self.bar.set_description(f"epoch {epoch + 1}/{self.epochs}")

    def batch(self, train: float | None) -> None:
        """One batch made; `train` is the epoch's mean log-likelihood so far, if known."""
        if self.bar is not None:
            self.bar.update(1)
            if train is not None:
                self.bar.set_postfix(train=f"{train:.3f}", refresh=False)

    def end_epoch(self, epoch: int, train: float | None, valid: float | None,
                  seconds: float) -> None:
        """Epoch `epoch` (0-based; -1 is the initial model, printed as epoch 0) ended with
        these mean log-likelihoods (None: not measured): one line, on a terminal too (above
        the bar)."""
        if not self.enabled:
            return
        scores = ", ".join(f"{name} {value:.4f}" for name, value in
                           (("train", train), ("valid", valid)) if value is not None)
        line = f"epoch {epoch + 1}/{self.epochs}: {scores} nats/example ({seconds:.1f} s)"
        if self.bar is not None:
            self.bar.set_postfix(train="-" if train is None else f"{train:.3f}",
                                 valid="-" if valid is None else f"{valid:.3f}")
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _redraws(stream: TextIO) -> bool:
    """Whether `stream` shows a redrawn bar: a terminal, or a Jupyter kernel's output."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # a closed or file-like object without isatty
        return False
    return "ipykernel" in sys.modules and stream is sys.stderr
