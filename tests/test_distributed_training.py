"""Data-parallel training with the gloo backend and 2 ranks started by the test: the updates are
those of one process over the whole batch (float64, 1e-10), for one EM step, one Adam step and
runs of online EM and Adam with early stopping."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from pcc.distributed import DistributedError, DistributedWorld
from pcc.distributed.group import ProcessGroup
from pcc.learn import Shard, TrainConfig, fit, shard_bounds
from tests.distributed_helpers import cases, finish, launch, tiny_model


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Parameters and histories of every case, trained by 2 ranks."""
    out = tmp_path_factory.mktemp("ranks")
    results = finish(launch(["tests/distributed_helpers.py", str(out)]), timeout=240)
    for rank, (status, _, err) in enumerate(results):
        assert status == 0, f"rank {rank} exited with {status}:\n{err[-3000:]}"
    return out


@pytest.mark.parametrize("name", list(cases()))
def test_two_ranks_update_like_one_process_over_the_whole_batch(two_ranks, name):
    leaf, train, valid, config, _ = cases()[name]
    model = tiny_model(leaf)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    expected = fit(model, train, valid, config)
    ranks = [torch.load(two_ranks / f"{name}.rank{r}.pt", weights_only=False) for r in (0, 1)]
    for rank in ranks:
        got = rank["state"]
        assert got.keys() == model.state_dict().keys()
        for key, value in model.state_dict().items():
            assert not torch.equal(value, before[key]) or key.endswith("n"), key  # it trained
            np.testing.assert_allclose(got[key].numpy(), value.numpy(), rtol=0, atol=1e-10,
                                       err_msg=f"{name}: {key}")
        # Adam's step hardly depends on the gradient's scale: check the gradient itself (the
        # last step's, after DDP's all-reduce)
        grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
        assert rank["grads"].keys() == grads.keys() and (config.method == "em") == (not grads)
        for key, grad in grads.items():
            np.testing.assert_allclose(rank["grads"][key].numpy(), grad.numpy(), rtol=0,
                                       atol=1e-12, err_msg=f"{name}: gradient of {key}")
        np.testing.assert_allclose(rank["history"].train, expected.train, rtol=0, atol=1e-10)
        np.testing.assert_allclose(rank["history"].valid, expected.valid, rtol=0, atol=1e-10)
        assert rank["history"].best_epoch == expected.best_epoch


def test_shards_are_contiguous_blocks_that_cover_the_rows():
    for total in (0, 1, 5, 200):
        for world in (1, 2, 3, 7):
            blocks = [shard_bounds(total, r, world) for r in range(world)]
            assert blocks[0][0] == 0 and blocks[-1][1] == total
            assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))
            assert max(b - a for a, b in blocks) - min(b - a for a, b in blocks) <= 1


def test_a_rank_picks_its_rows_of_a_global_batch_in_batch_order():
    rows = np.arange(10, dtype=float)[:, None] * 10
    shard = Shard(rows[4:8], start=4, total=10)
    np.testing.assert_array_equal(shard.pick(np.array([9, 6, 0, 4, 7, 5]))[:, 0], [60, 40, 70, 50])
    assert len(shard.pick(np.array([0, 1, 9]))) == 0
    world = DistributedWorld(ProcessGroup(1, 2, 1, "gloo", torch.device("cpu"), 10.0))
    whole = np.zeros((5, 3))
    assert world.shard(whole).start == 2 and len(world.shard(whole).rows) == 3


def test_setup_without_torchrun_environment_names_what_is_missing(monkeypatch):
    from pcc.distributed import setup

    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(DistributedError, match="RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT unset"):
        setup()


def test_pcc_train_distributed_outside_torchrun_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    from pcc.cli.main import main

    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    np.savetxt(tmp_path / "t.data", np.eye(4, dtype=int), fmt="%d", delimiter=",")
    common = ["train", "--structure", "chain", "--data", str(tmp_path / "t.data"), "--units", "2",
              "--epochs", "1", "-o", str(tmp_path / "o.pcc")]
    assert main([*common, "--distributed"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pcc train: error: distributed training needs the environment "
                          "torchrun sets") and "\n" not in err
    assert main([*common, "--checkpoint-every", "5"]) == 2
    assert "--checkpoint-every needs --checkpoint FILE" in capsys.readouterr().err


@pytest.fixture()
def one_rank(monkeypatch):
    """A world of one rank in this process (gloo, loopback), left again afterwards."""
    from pcc.distributed import setup, shutdown
    from tests.distributed_helpers import free_port

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    yield setup(backend="gloo", timeout=30)
    shutdown()


def test_a_checkpoint_for_other_data_or_options_is_refused(one_rank, tmp_path):
    from dataclasses import replace

    from pcc.distributed import fit_distributed
    from pcc.learn import CheckpointError
    from tests.distributed_helpers import tiny_data

    data = tiny_data(40)
    config = TrainConfig(epochs=1, batch_size=10, progress=False, checkpoint=str(tmp_path / "c"))
    fit_distributed(tiny_model(), data, None, config)
    with pytest.raises(CheckpointError, match="written for 40 training rows, this run has 39"):
        fit_distributed(tiny_model(), data[:39], None, config)
    with pytest.raises(CheckpointError, match="batch_size=10, this run has batch_size=20"):
        fit_distributed(tiny_model(), data, None, replace(config, batch_size=20))
    torch.save({"model": {}}, tmp_path / "plain")
    with pytest.raises(CheckpointError, match="not a pcc training checkpoint"):
        fit_distributed(tiny_model(), data, None,
                        replace(config, checkpoint=str(tmp_path / "plain")))
    # resuming a finished run trains no further and ends with the saved parameters
    model = tiny_model()
    assert len(fit_distributed(model, data, None, config).train) == 1
    saved = torch.load(tmp_path / "c", weights_only=False)["model"]
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())
