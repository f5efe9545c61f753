"""Issue 23, item 3: invalid circuits lead somewhere. eval (either backend), mpe and sample
refuse a circuit that is not smooth and decomposable with one line that names the node and the
way out (`pcc check --fix`, or eval's --allow-invalid); `check --fix` never writes an invalid
circuit; --per-example writes the file named; evidence given twice is an error; transform says
(and a .pcc output keeps) how condition/marginalize renumbered the variables."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pcc.backends.reference import log_likelihood
from pcc.cli.main import main
from pcc.io import load_circuit, save_pcc
from pcc.ir import BINARY, CircuitBuilder
from tests import analysis_circuits as make


def run(capsys: pytest.CaptureFixture, *argv: object) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:
        status = int(exit.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def not_smooth_only():
    """Decomposable, not smooth: a sum over x0 and x1 (smoothing repairs it)."""
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.bernoulli(0, 0.3), b.bernoulli(1, 0.6)], weights=[0.5, 0.5])
    return b.build()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"t": tmp_path}
    for name, circuit in (("smooth", not_smooth_only()), ("nd", make.not_decomposable()),
                          ("good", make.sdd_like())):
        paths[name] = tmp_path / f"{name}.pcc"
        save_pcc(circuit, paths[name])
    paths["d2"] = tmp_path / "d2.csv"
    paths["d2"].write_text("0,1\n1,*\n")
    paths["d3"] = tmp_path / "d3.csv"
    paths["d3"].write_text("0,1,1\n1,*,0\n1,1,1\n")
    return paths


SMOOTH = ("{smooth} is not a valid PC (smooth and decomposable), which {need} needs: sum #2 is "
          "not smooth: child #0 has scope {{0}}, child #1 has scope {{1}}; `pcc check {smooth} "
          "--fix -o FIXED.pcc` repairs it (smooth)")
ND = ("{nd} is not a valid PC (smooth and decomposable), which {need} needs: product #3 is not "
      "decomposable: children #0, #1 have scope {{0}}; shared: {{0}} (and 1 more violation); no "
      "pcc pass repairs decomposability (`pcc check {nd}` lists the violations)")
OPT_OUT = "; or pass --allow-invalid to evaluate its function as it is"


@pytest.mark.parametrize("argv, message", [
    (["eval", "{smooth}", "--data", "{d2}"], SMOOTH + OPT_OUT),
    (["eval", "{smooth}", "--data", "{d2}", "--backend", "reference"], SMOOTH + OPT_OUT),
    (["eval", "{nd}", "--data", "{d3}"], ND + OPT_OUT),
    (["eval", "{nd}", "--data", "{d3}", "--backend", "reference"], ND + OPT_OUT),
    (["mpe", "{smooth}", "--data", "{d2}", "-o", "{t}/o.csv"], SMOOTH),
    (["sample", "{nd}", "-n", "2", "-o", "{t}/o.csv", "--backend", "reference"], ND),
])
def test_an_invalid_circuit_is_refused_with_the_way_out(capsys, files, argv, message) -> None:
    need = {"eval": "evaluating it", "mpe": "MPE", "sample": "sampling"}[argv[0]]
    status, out, err = run(capsys, *[a.format(**files) for a in argv])
    assert (status, out) == (2, "")
    assert err == f"pcc {argv[0]}: error: " + message.format(**files, need=need) + "\n"
    assert "allow_invalid" not in err  # the Python keyword means nothing on the command line
    assert not (files["t"] / "o.csv").exists()


@pytest.mark.parametrize("backend", ["torch", "reference"])
def test_allow_invalid_evaluates_the_circuits_function(capsys, files, backend) -> None:
    status, out, err = run(capsys, "eval", files["nd"], "--data", files["d3"], "--backend",
                           backend, "--allow-invalid", "--json")
    assert status == 0 and err == ""
    want = log_likelihood(make.not_decomposable(), np.loadtxt(files["d3"], delimiter=",",
                                                              converters=lambda s: float(
                                                                  s.strip() if s.strip() != "*"
                                                                  else "nan")))
    assert json.loads(out)["mean_log_likelihood"] == pytest.approx(float(want.mean()), abs=1e-9)


def test_check_fix_repairs_smoothness_then_eval_runs(capsys, files) -> None:
    fixed = files["t"] / "fixed.pcc"
    status, out, err = run(capsys, "check", files["smooth"], "--fix", "-o", fixed)
    assert status == 0 and err == "" and f"wrote {fixed} (pcc)" in out
    status, out, err = run(capsys, "eval", fixed, "--data", files["d2"])
    assert status == 0 and err == ""


def test_check_fix_of_a_non_decomposable_circuit_exits_1_and_writes_nothing(capsys,
                                                                             files) -> None:
    fixed = files["t"] / "fixed.pcc"
    status, out, err = run(capsys, "check", files["nd"], "--fix", "-o", fixed)
    assert status == 1 and "valid PC (smooth and decomposable): no" in out
    assert err == (f"pcc check: cannot fix {files['nd']}: product #3 is not decomposable: "
                   "children #0, #1 have scope {0}; shared: {0} (and 1 more violation); no "
                   f"pass repairs decomposability; nothing written to {fixed}\n")
    assert not fixed.exists()


def test_check_fix_never_writes_a_circuit_that_is_still_invalid(capsys, files,
                                                               monkeypatch) -> None:
    import pcc.transforms

    # passes that (wrongly) change nothing: the re-check after them must catch it
    monkeypatch.setattr(pcc.transforms, "apply_passes", lambda circuit, names: (circuit, []))
    fixed = files["t"] / "fixed.pcc"
    status, _, err = run(capsys, "check", files["smooth"], "--fix", "-o", fixed)
    assert status == 1 and not fixed.exists()
    assert err == (f"pcc check: cannot fix {files['smooth']}: sum #2 is not smooth: child #0 "
                   "has scope {0}, child #1 has scope {1}; the repaired circuit is still "
                   f"invalid; nothing written to {fixed}\n")


@pytest.mark.parametrize("name", ["pe.npy", "pe.txt", "pe.csv", "PE.NPY"])
def test_per_example_writes_the_file_named(capsys, files, name) -> None:
    target = files["t"] / name
    status, _, err = run(capsys, "eval", files["good"], "--data", files["d3"], "--per-example",
                         target)
    assert status == 0 and err == ""
    assert sorted(p.name for p in files["t"].iterdir() if p.name.lower().startswith("pe")) \
        == [name]
    want = log_likelihood(make.sdd_like(), [[0, 1, 1], [1, np.nan, 0], [1, 1, 1]])
    got = np.load(target) if name.lower().endswith(".npy") else np.loadtxt(target)
    assert got.shape == (3,)
    np.testing.assert_array_equal(got, want)  # 17 digits: the text reads back exactly


def test_a_variable_given_twice_is_an_error(capsys, files) -> None:
    out_file = files["t"] / "c.pcc"
    status, out, err = run(capsys, "transform", files["good"], "-o", out_file, "--passes",
                           "condition:0=1:0=0")
    assert (status, out) == (2, "")
    assert err == ("pcc transform: error: condition: x0 is given twice (x0=1 and x0=0); give "
                   "each variable one value\n")
    status, _, err = run(capsys, "transform", files["good"], "-o", out_file, "--passes",
                         "marginalize:2:x2")
    assert status == 2
    assert err == "pcc transform: error: marginalize: x2 is named twice; name each variable once\n"
    status, _, err = run(capsys, "transform", files["good"], "-o", out_file, "--passes",
                         "condition:1=nan")
    assert status == 2
    assert err == ("pcc transform: error: condition: x1=nan is not a value; to sum x1 out, use "
                   "marginalize:1\n")
    assert not out_file.exists()


def _header(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("header.json"))


def test_transform_reports_and_stores_the_renumbering(capsys, files) -> None:
    out_file = files["t"] / "m.pcc"
    status, out, err = run(capsys, "transform", files["good"], "-o", out_file, "--passes",
                           "marginalize:0,condition:1=1")
    assert status == 0 and err == ""
    assert "variables renumbered (old -> new): x1 -> x0; removed: x0, x2" in out.splitlines()
    assert _header(out_file)["metadata"] == {"kept_variables": [1]}
    assert load_circuit(out_file).num_vars == 1  # the metadata does not disturb loading
    status, out, _ = run(capsys, "transform", files["good"], "-o", out_file, "--passes",
                         "marginalize:1", "--json")
    report = json.loads(out)
    assert report["kept"] == [0, 2] and report["passes"][0]["kept"] == [0, 2]
    # a pass that keeps every variable adds no line and no metadata
    status, out, _ = run(capsys, "transform", files["good"], "-o", out_file, "--passes", "prune")
    assert "renumbered" not in out and "metadata" not in _header(out_file)


def test_the_renumbering_line_is_short_for_many_variables() -> None:
    from pcc.cli.transform import format_renumbering

    kept = [v for v in range(300) if v not in (0, 5, 6, 299)]
    assert format_renumbering(300, kept) == (
        "variables renumbered (old -> new): x1..x4 -> x0..x3, x7..x298 -> x4..x295; "
        "removed: x0, x5..x6, x299")


def test_the_selected_columns_evaluate_as_before(capsys, files) -> None:
    """The point of the renumbering: data columns picked by kept_variables give the marginal."""
    out_file = files["t"] / "m.pcc"
    assert run(capsys, "transform", files["good"], "-o", out_file, "--passes",
               "marginalize:1")[0] == 0
    kept = _header(out_file)["metadata"]["kept_variables"]
    rows = np.array([[0, 1, 1], [1, 0, 0], [1, 1, 1]], float)
    full = rows.copy()
    full[:, 1] = np.nan
    np.testing.assert_allclose(log_likelihood(load_circuit(out_file), rows[:, kept]),
                               log_likelihood(make.sdd_like(), full), atol=1e-12)
