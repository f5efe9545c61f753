"""`pcc eval`: the printed summary, --json, --per-example, zero-probability rows (-inf, never
NaN), Libra weights, missing marks, and one error line (exit 2) for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pcc.cli.main import main
from tests.frontend_data import TWENTY, circuit_path


def run(capsys, *argv: object) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_eval_prints_mean_rows_and_zero_rows(capsys) -> None:
    status, out, err = run(capsys, "eval", circuit_path("libra/msweb/msweb.ac"),
                           "--data", circuit_path("libra/msweb/msweb.test"))
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert "rows: 100" in lines
    assert "mean log-likelihood: -inf" in lines
    assert "rows with probability zero: 3" in lines
    assert "  rows (0-based): 20, 52, 84" in lines
    assert f"  lines of {circuit_path('libra/msweb/msweb.test')}: 21, 53, 85" in lines
    assert any(line.startswith("mean over the 97 finite rows: -9.71321") for line in lines)


def test_eval_json_and_per_example(capsys, tmp_path: Path) -> None:
    out_npy = tmp_path / "ll.npy"
    status, out, _ = run(capsys, "eval", circuit_path("libra/msweb/msweb.spn"), "--data",
                         circuit_path("libra/msweb/msweb.test"), "--json", "--per-example",
                         out_npy)
    assert status == 0
    result = json.loads(out)
    assert result["rows"] == 100 and result["zero_probability_rows"] == 3
    assert result["mean_log_likelihood"] == "-inf"
    assert result["zero_probability_row_indices"] == [20, 52, 84]
    assert result["zero_probability_lines"] == [21, 53, 85]
    assert abs(result["mean_over_finite_rows"] - -10.315011) < 1e-6
    ll = np.load(out_npy)
    assert ll.shape == (100,) and not np.isnan(ll).any()
    assert list(np.flatnonzero(np.isneginf(ll))) == [20, 52, 84]


def test_eval_psdd_with_vtree_on_gzipped_data(capsys) -> None:
    if not TWENTY.is_dir():
        pytest.skip("no shared data")
    status, out, _ = run(capsys, "eval", circuit_path("psdd/nltcs.clt.psdd"), "--vtree",
                         circuit_path("psdd/nltcs.vtree"), "--data",
                         TWENTY / "nltcs" / "nltcs.test.data.gz", "--json")
    assert status == 0
    result = json.loads(out)
    assert result["rows"] == 3236 and result["zero_probability_rows"] == 0
    assert abs(result["mean_log_likelihood"] - -6.759045) < 1e-6


def test_eval_missing_marks_and_libra_weights(capsys, tmp_path: Path) -> None:
    data = tmp_path / "q.data"
    data.write_text("1|0,0,0,0\n3|*,?,,nan\n")
    status, out, _ = run(capsys, "eval", circuit_path("psdd/little_4var.psdd"), "--data", data,
                         "--json")
    result = json.loads(out)
    assert status == 0 and result["rows"] == 2
    # row 1 is all missing: log 1 = 0; row 0 has P = 0.07
    assert abs(result["mean_log_likelihood"] - np.log(0.07) / 2) < 1e-12
    assert abs(result["weighted_mean_log_likelihood"] - np.log(0.07) / 4) < 1e-12
    status, out, _ = run(capsys, "eval", circuit_path("psdd/little_4var.psdd"), "--data", data)
    assert "rows carry Libra weights: weighted mean log-likelihood" in out


def test_eval_bad_data_is_one_error_line(capsys, tmp_path: Path) -> None:
    data = tmp_path / "bad.data"
    data.write_text("0,1,0\n")
    status, out, err = run(capsys, "eval", circuit_path("psdd/little_4var.psdd"), "--data", data)
    assert status == 2 and out == ""
    assert err == (f"pcc eval: error: {data}:1: the data has 3 columns but the circuit has 4 "
                   "variables\n")
    data.write_text("0,1,0,1\n0,1,x,1\n")
    status, _, err = run(capsys, "eval", circuit_path("psdd/little_4var.psdd"), "--data", data)
    assert status == 2 and f"{data}:2:5: not a number" in err and "'x'" in err


def test_eval_backend_choices(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["eval", str(circuit_path("psdd/little_4var.psdd")), "--data", "x",
              "--backend", "nope"])
    assert info.value.code == 2
    capsys.readouterr()


def test_eval_says_its_backend_and_dtype_and_checks_the_device(capsys, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("0,1,*,0\n1,1,0,0\n")
    model = circuit_path("psdd/little_4var.psdd")
    status, out, err = run(capsys, "eval", model, "--data", data, "--dtype", "float32")
    assert status == 0, err
    from pcc.backends.batched import Backend

    engine = Backend(engine="auto").resolved_engine()  # native where a C compiler is found
    assert out.splitlines()[0] == (f"{model} on {data} (torch backend, {engine} engine, "
                                   "float32 on cpu)")
    status, out, _ = run(capsys, "eval", model, "--data", data, "--backend", "reference", "--json")
    result = json.loads(out)
    assert result["backend"] == "reference" and result["dtype"] == "float64"
    status, out, _ = run(capsys, "eval", model, "--data", data, "--json")
    assert json.loads(out)["dtype"] == "float64"
    status, out, err = run(capsys, "eval", model, "--data", data, "--device", "nodevice")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("pcc eval: error: device 'nodevice': ")
