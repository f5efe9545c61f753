"""A training run's history next to its model: a CSV table and a learning-curve picture.

`model.pcc` gets `model.history.csv` (epoch, train_ll, valid_ll, seconds; epoch 0 is the
initial model, valid_ll empty without validation data; train_ll of an epoch is the mean over
its updates, as `History.train`) and, where matplotlib is installed (the
`plot` extra), `model.history.png`: mean log-likelihood per epoch, train and valid, the kept
epoch marked.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pcc.learn.config import History

PLOT_HINT = "pip install 'pcc[plot]' (matplotlib) to draw the learning curve"


def history_paths(model_path: str | Path) -> tuple[Path, Path]:
    """(CSV table, PNG picture) beside `model_path`: x.pcc -> x.history.csv, x.history.png."""
    path = Path(model_path)
    stem = path.with_suffix("") if path.suffix else path
    return stem.with_name(stem.name + ".history.csv"), stem.with_name(stem.name + ".history.png")


def write_history(history: History, path: str | Path) -> None:
    """The history as CSV, one row per epoch (see the module doc)."""
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["epoch", "train_ll", "valid_ll", "seconds"])
        for epoch, train, valid, seconds in history.rows():
            out.writerow([epoch, repr(train), "" if valid is None else repr(valid),
                          f"{seconds:.3f}"])


def plot_history(history: History, path: str | Path) -> str | None:
    """Draws the learning curve as a PNG at `path`; returns None, or without matplotlib a
    one-line hint saying how to get it (nothing is written then)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return PLOT_HINT
    rows = history.rows()
    epochs = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [r[1] for r in rows], marker="o", label="train")
    valid = [(r[0], r[2]) for r in rows if r[2] is not None]
    if valid:
        ax.plot([e for e, _ in valid], [v for _, v in valid], marker="o", label="valid")
        best = max(valid, key=lambda ev: ev[1])
        ax.scatter([best[0]], [best[1]], s=160, facecolors="none", edgecolors="black",
                   label=f"kept (epoch {best[0]})", zorder=3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (0 = the initial model)")
    ax.set_ylabel("mean log-likelihood (nats/example)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None
