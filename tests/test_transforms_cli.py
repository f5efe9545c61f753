"""pcc transform and pcc check --fix: report lines, JSON, one-line errors with exit status 2."""

import json

from pcc.cli.main import main
from pcc.io import load_circuit, save_circuit
from pcc.ir import BINARY, CircuitBuilder
from tests.transform_helpers import assert_same_values
from tests.strategies import all_assignments


def _rough(path):
    b = CircuitBuilder([BINARY, BINARY])
    x0, x1 = b.bernoulli(0, p=0.3), b.bernoulli(1, p=0.6)
    b.sum([b.product([x0, x1]), b.bernoulli(0, p=0.9)], [[0.5, 0.5]])
    save_circuit(b.build(), path)
    return b.build()


def _bad(path):
    b = CircuitBuilder([BINARY])
    x = b.bernoulli(0, p=0.3)
    b.sum([b.product([x, b.bernoulli(0, p=0.5)])], [[1.0]])
    save_circuit(b.build(), path)


def test_transform_prints_a_line_per_pass(tmp_path, capsys):
    circuit = _rough(tmp_path / "in.pcc")
    out = tmp_path / "out.pcc"
    assert main(["transform", str(tmp_path / "in.pcc"), "-o", str(out),
                 "--passes", "prune,smooth"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "prune: 5 -> 5 groups (0 unreachable, 0 zero-weight inputs, 0 unread units, 0 merged)",
        "smooth: 1 sums completed (1 children, 1 one-valued factors), 5 -> 7 groups",
        f"wrote {out} (pcc): 7 groups, 7 units, 2 variables"]
    assert_same_values(circuit, load_circuit(out), all_assignments(circuit))


def test_transform_json(tmp_path, capsys):
    _rough(tmp_path / "in.pcc")
    assert main(["transform", str(tmp_path / "in.pcc"), "-o", str(tmp_path / "o.pcc"),
                 "--passes", "smooth,normalize", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["pass"] for p in report["passes"]] == ["smooth", "normalize"]
    assert abs(report["passes"][1]["log_z"] - 0.4054651081081644) < 1e-12


def test_transform_errors(tmp_path, capsys):
    _bad(tmp_path / "bad.pcc")
    args = ["transform", str(tmp_path / "bad.pcc"), "-o", str(tmp_path / "o.pcc"), "--passes"]
    assert main(args + ["prune,nope"]) == 2
    assert capsys.readouterr().err == (
        "pcc transform: error: unknown pass 'nope'; known: prune, smooth, normalize, "
        "vectorize, binarize, scalarize, condition:..., marginalize:...\n")
    assert main(args + ["smooth"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pcc transform: error: smooth: cannot apply: product #2 is not "
                          "decomposable") and err.count("\n") == 1
    assert not (tmp_path / "o.pcc").exists()


def test_check_fix(tmp_path, capsys):
    _rough(tmp_path / "in.pcc")
    out = tmp_path / "fixed.pcc"
    assert main(["check", str(tmp_path / "in.pcc"), "--fix", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fix: normalize: log Z = 0.405465; 1 sums and 1 inputs rescaled" in text
    assert main(["check", str(out)]) == 0
    assert main(["check", str(tmp_path / "in.pcc"), "--fix"]) == 2
    assert "--fix needs -o OUT" in capsys.readouterr().err
