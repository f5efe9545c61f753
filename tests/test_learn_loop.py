"""The one training loop (`pcc.learn.fit`) in one process: progress lines when stderr is not a
terminal, mid-epoch checkpoints that resume to the uninterrupted result, the one checkpoint
format, and the evaluation helper."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.learn import CheckpointError, TrainConfig, fit, mean_log_likelihood
from pcc.learn.progress import Progress
from pcc.regions import build_circuit, random_binary_trees
from tests.distributed_helpers import ROOT, tiny_data


def _model():  # type: ignore[no-untyped-def]
    circuit = build_circuit(random_binary_trees(6, 2, 2, seed=0), 3, seed=1)
    return compile(circuit, dtype=torch.float64)


def test_progress_off_a_terminal_is_one_line_per_epoch(capsys):
    data = tiny_data(120)
    fit(_model(), data[:90], data[90:], TrainConfig(epochs=3, batch_size=10, patience=None))
    err = capsys.readouterr().err  # pytest's capture is not a terminal
    assert "\r" not in err
    lines = err.splitlines()
    assert len(lines) == 4, err  # epoch 0: the initial model
    assert lines[0].startswith("epoch 0/3: train -") and ", valid -" in lines[0]
    assert lines[1].startswith("epoch 1/3: train -") and ", valid -" in lines[1]
    assert lines[3].startswith("epoch 3/3: ") and lines[3].endswith(" s)")


def test_progress_on_a_terminal_is_a_redrawn_bar():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = Progress(True, 2, stream=screen)
    for epoch in range(2):
        progress.start_epoch(epoch, 5, 0)
        for _ in range(5):
            progress.batch(-1.5)
        progress.end_epoch(epoch, -1.5, None, 0.1)
    progress.close()
    assert "\r" in screen.getvalue() and "epoch 2/2" in screen.getvalue()
    # the epoch lines stay on the terminal (issue 23): whole lines above the bar
    kept = [line.split("\r")[-1] for line in screen.getvalue().split("\n")]
    assert "epoch 1/2: train -1.5000 nats/example (0.1 s)" in kept, screen.getvalue()
    assert "epoch 2/2: train -1.5000 nats/example (0.1 s)" in kept
    quiet = Terminal()
    Progress(False, 2, stream=quiet).end_epoch(0, -1.0, None, 0.1)
    assert quiet.getvalue() == ""


def test_pcc_train_logged_to_a_file_has_short_lines(tmp_path):
    """`pcc train ... 2> log`: a line per epoch, no carriage-return bar (issue 15)."""
    rows = (np.random.default_rng(0).random((200, 5)) < 0.5).astype(int)
    np.savetxt(tmp_path / "t.data", rows, fmt="%d", delimiter=",")
    with open(tmp_path / "log", "w") as log:
        status = subprocess.run(
            [sys.executable, "-m", "pcc.cli.main", "train", "--structure", "chain", "--data",
             str(tmp_path / "t.data"), "--units", "2", "--epochs", "2", "--batch-size", "5",
             "-o", str(tmp_path / "o.pcc")], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    assert status.returncode == 0
    text = (tmp_path / "log").read_text()
    assert "\r" not in text and [line[:10] for line in text.splitlines()] == [
        "epoch 0/2:", "epoch 1/2:", "epoch 2/2:"]


def test_mid_epoch_checkpoints_resume_to_the_uninterrupted_result(tmp_path, monkeypatch):
    data = tiny_data(100)
    config = TrainConfig(method="adam", lr=0.05, epochs=2, batch_size=10, patience=None,
                         progress=False, checkpoint=str(tmp_path / "ck"), checkpoint_every=3)
    expected = _model()
    fit(expected, data, None, replace(config, checkpoint=None))
    # stop the run at its 6th optimizer step: the checkpoint of batch 3 of epoch 1 is last
    model, steps = _model(), []
    real_step = torch.optim.Adam.step

    def step(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if len(steps) == 5:
            raise KeyboardInterrupt
        steps.append(1)
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    with pytest.raises(KeyboardInterrupt):
        fit(model, data, None, config)
    monkeypatch.setattr(torch.optim.Adam, "step", real_step)
    state = torch.load(tmp_path / "ck", weights_only=False)
    assert (state["epoch"], state["step"]) == (0, 3)
    resumed = _model()
    history = fit(resumed, data, None, config)
    assert len(history.train) == 2
    for key, value in expected.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=1e-12)


def test_a_checkpoint_for_other_options_or_a_foreign_file_is_refused(tmp_path):
    data = tiny_data(40)
    config = TrainConfig(epochs=1, batch_size=10, progress=False, checkpoint=str(tmp_path / "c"))
    fit(_model(), data, None, config)
    with pytest.raises(CheckpointError, match="written with seed=0, this run has seed=1"):
        fit(_model(), data, None, replace(config, seed=1))
    (tmp_path / "junk").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="junk: not a pcc training checkpoint"):
        fit(_model(), data, None, replace(config, checkpoint=str(tmp_path / "junk")))
    with pytest.raises(ValueError, match="checkpoint_every"):
        TrainConfig(checkpoint_every=0)


def test_mean_log_likelihood_is_the_reference_mean_in_any_batch_size():
    data = tiny_data(37)
    model = _model()
    expected = log_likelihood(model.to_circuit(), data).mean()
    for batch in (1, 5, 37, 1000):
        assert mean_log_likelihood(model, data, batch) == pytest.approx(expected, abs=1e-9)
    assert mean_log_likelihood(model, data[:0]) == 0.0


def test_no_training_rows_or_a_flat_table_is_a_data_error():
    from pcc.ir import DataError

    with pytest.raises(DataError, match="no training rows"):
        fit(_model(), np.zeros((0, 6)), None, TrainConfig(progress=False))
    with pytest.raises(DataError, match=r"a \(rows, variables\) table, got shape \(6,\)"):
        fit(_model(), np.zeros(6), None, TrainConfig(progress=False))


@pytest.mark.parametrize("method", ["em", "adam"])
def test_scores_after_training_are_the_trained_models(tmp_path, method):
    """Evaluations before, during and after training see the parameters of that moment: the
    start is scored (epoch 0) before any update, so a cache of the evaluation keyed on a
    parameter state that restarts after a pass with autograd would score the start again."""
    from pcc.io import load_circuit
    from tests.test_learn_from_file import PSDD, _skewed

    path = tmp_path / "x.psdd"  # sparse: the native engine's one-call pass evaluates it
    path.write_text(PSDD)
    data = _skewed(120)
    model = compile(load_circuit(path), dtype=torch.float64)
    config = TrainConfig(method=method, lr=0.2, epochs=2, batch_size=30, step_size=0.5,
                         init="model", patience=None, progress=False)
    history = fit(model, data[:90], data[90:], config)
    circuit = model.to_circuit()
    assert mean_log_likelihood(model, data[90:]) == pytest.approx(
        log_likelihood(circuit, data[90:]).mean(), abs=1e-9)
    assert max(history.valid) == pytest.approx(log_likelihood(circuit, data[90:]).mean(),
                                               abs=1e-9)
    assert history.start_valid is not None and max(history.valid) > history.start_valid
