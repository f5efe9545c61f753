"""`pcc train --distributed` with 2 gloo ranks: kill one rank mid-epoch, the other fails cleanly
within the timeout, and rerunning the command resumes from rank 0's checkpoint and ends with the
parameters of an uninterrupted run (one process, float64, 1e-10)."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import torch

from pcc.cli.main import main
from pcc.io import load_circuit
from pcc.ir import Input, Sum
from tests.distributed_helpers import finish, launch

TIMEOUT = 20  # seconds the surviving rank waits for the dead one


def _parameters(circuit) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    out = []
    for g in circuit.groups:
        if isinstance(g, Sum):
            out.append(g.weights)
        elif isinstance(g, Input):
            out.extend(np.asarray(v, dtype=float) for v in g.params.values())
    return out


def _wait_for_checkpoint(path, procs, min_step: int, limit: float = 120.0) -> dict:
    """Rank 0's checkpoint once it is at least `min_step` batches into an epoch."""
    deadline, seen = time.monotonic() + limit, None
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        stamp = path.stat().st_mtime_ns if path.exists() else None
        if stamp != seen:
            seen = stamp
            try:
                state = torch.load(path, weights_only=False)
            except (EOFError, RuntimeError, FileNotFoundError):  # replaced while read: again
                seen = None
                continue
            if state["step"] >= min_step:
                return state
        time.sleep(0.01)
    raise AssertionError("training ended or stalled before the rank could be killed: "
                         f"{[p.poll() for p in procs]}")


def test_killed_rank_fails_the_job_cleanly_and_a_rerun_resumes_to_the_same_result(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, (200, 1))
    data = np.concatenate([a, a ^ (rng.random((200, 1)) < 0.1), rng.integers(0, 2, (200, 4))], 1)
    np.savetxt(tmp_path / "train.data", data, fmt="%d", delimiter=",")
    common = ["train", "--structure", "rat", "--data", str(tmp_path / "train.data"),
              "--units", "3", "--epochs", "3", "--batch-size", "10", "--adam", "--lr", "0.05",
              "--dtype", "float64", "--no-progress"]
    checkpoint, out = tmp_path / "ck.pt", tmp_path / "two.pcc"
    job = ["-m", "pcc.cli.main", *common, "--distributed", "--timeout", str(TIMEOUT),
           "--checkpoint", str(checkpoint), "--checkpoint-every", "1", "-o", str(out)]

    procs = launch(job)
    _wait_for_checkpoint(checkpoint, procs, min_step=2)
    os.kill(procs[1].pid, signal.SIGKILL)
    killed = time.monotonic()
    (status0, _, err0), (status1, _, _) = finish(procs, timeout=TIMEOUT + 40)
    waited = time.monotonic() - killed
    assert status1 == -signal.SIGKILL
    assert status0 == 2, f"rank 0 exited with {status0} after {waited:.1f} s:\n{err0[-2000:]}"
    assert waited < TIMEOUT + 30
    last = err0.strip().splitlines()[-1]
    assert last.startswith("pcc train: error: rank 0 stopped at epoch "), err0[-2000:]
    assert "Traceback" not in err0
    state = torch.load(checkpoint, weights_only=False)
    assert state["epoch"] < 3 and not out.exists()  # it really stopped mid-run

    resumed = finish(launch(job), timeout=180)
    for rank, (status, _, err) in enumerate(resumed):
        assert status == 0, f"resumed rank {rank} exited with {status}:\n{err[-2000:]}"
    assert f"wrote {out}" in resumed[0][1] and resumed[1][1] == ""  # rank 0 alone prints

    assert main([*common, "-o", str(tmp_path / "one.pcc")]) == 0
    expected = _parameters(load_circuit(tmp_path / "one.pcc"))
    got = _parameters(load_circuit(out))
    assert len(got) == len(expected)
    for a_, b_ in zip(got, expected):
        np.testing.assert_allclose(a_, b_, rtol=0, atol=1e-10)
