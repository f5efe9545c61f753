"""Issue 23, item 1 (all commands but train and convert): an out-of-range or unreadable option
is one argparse error line naming the flag (exit 2) before any file is read or written, and an
output whose folder is missing is refused before the work."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcc.cli.main import main
from pcc.io import save_pcc
from pcc.ir import BINARY, CircuitBuilder
from tests import analysis_circuits as make


def run(capsys: pytest.CaptureFixture, *argv: object) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:  # refused by the parser
        status = int(exit.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    model = tmp_path / "m.pcc"
    save_pcc(make.sdd_like(), model)
    data = tmp_path / "d.csv"
    data.write_text("0,1,1\n1,*,0\n")
    return {"m": model, "d": data, "t": tmp_path}


CASES = [
    (["eval", "{m}", "--data", "{d}", "--batch-size", "-3"],
     "pcc eval: error: argument --batch-size: must be an integer >= 1, got '-3'"),
    (["eval", "{m}", "--data", "{d}", "--batch-size", "0"],
     "pcc eval: error: argument --batch-size: must be an integer >= 1, got '0'"),
    (["eval", "{m}", "--data", "{d}", "--batch-size", "many"],
     "pcc eval: error: argument --batch-size: must be an integer >= 1, got 'many'"),
    (["eval", "{m}", "--data", "{d}", "--per-example", "{t}/no/pe.npy"],
     "pcc eval: error: argument --per-example: cannot write {t}/no/pe.npy: folder {t}/no does "
     "not exist"),
    (["eval", "{m}", "--data", "{d}", "--per-example", "{t}/pe.dat"],
     "pcc eval: error: argument --per-example: cannot tell how to write '{t}/pe.dat': name it "
     "OUT.npy (numpy float64) or OUT.txt / OUT.csv (text, one log-likelihood a line)"),
    (["check", "{m}", "--determinism-budget", "-1"],
     "pcc check: error: argument --determinism-budget: must be an integer >= 0, got '-1'"),
    (["check", "{m}", "--fix", "-o", "{t}/no/fixed.pcc"],
     "pcc check: error: argument -o/--output: cannot write {t}/no/fixed.pcc: folder {t}/no "
     "does not exist"),
    (["info", "{m}", "--determinism-budget", "-5"],
     "pcc info: error: argument --determinism-budget: must be an integer >= 0, got '-5'"),
    (["mpe", "{m}", "--data", "{d}", "-o", "{t}/no/out.csv"],
     "pcc mpe: error: argument -o/--out: cannot write {t}/no/out.csv: folder {t}/no does not "
     "exist"),
    (["mpe", "{m}", "--data", "{d}", "-o", "{t}"],
     "pcc mpe: error: argument -o/--out: cannot write '{t}': it is a folder, expected a file "
     "name"),
    (["sample", "{m}", "-n", "-4", "-o", "{t}/s.csv"],
     "pcc sample: error: argument -n/--num-samples: must be an integer >= 1, got '-4'"),
    (["sample", "{m}", "-n", "2", "--seed", "-1", "-o", "{t}/s.csv"],
     "pcc sample: error: argument --seed: must be an integer from 0 to 2^63-1, got '-1'"),
    (["sample", "{m}", "-n", "2", "--seed", str(2**64), "-o", "{t}/s.csv"],
     f"pcc sample: error: argument --seed: must be an integer from 0 to 2^63-1, got '{2**64}'"),
    (["sample", "{m}", "-n", "2", "-o", "{t}/no/s.csv"],
     "pcc sample: error: argument -o/--out: cannot write {t}/no/s.csv: folder {t}/no does not "
     "exist"),
    (["transform", "{m}", "-o", "{t}/no/t.pcc", "--passes", "prune"],
     "pcc transform: error: argument -o/--output: cannot write {t}/no/t.pcc: folder {t}/no "
     "does not exist"),
    (["transform", "{m}", "-o", "{t}/t.pcc", "--passes", ","],
     "pcc transform: error: argument --passes: no pass given; e.g. --passes prune,smooth"),
    (["viz", "{m}", "-o", "{t}/x.dot", "--digits", "40"],
     "pcc viz: error: --digits must be between 0 and 12, got 40"),
    (["demo", "--units", "0", "-o", "{t}/demo"],
     "pcc demo: error: argument --units: must be an integer >= 1, got '0'"),
    (["demo", "--epochs", "-1", "-o", "{t}/demo"],
     "pcc demo: error: argument --epochs: must be an integer >= 1, got '-1'"),
    (["demo", "--seed", "-1", "-o", "{t}/demo"],
     "pcc demo: error: argument --seed: must be an integer from 0 to 2^63-1, got '-1'"),
    (["demo", "-o", "{d}"],
     "pcc demo: error: argument -o/--out: cannot write into '{d}': it is a file, expected a "
     "folder"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(c[0][:1] + c[0][-2:])
                                                      for c in CASES])
def test_a_bad_option_is_one_line_and_exit_2(capsys, files, argv, message) -> None:
    status, out, err = run(capsys, *[a.format(**files) for a in argv])
    assert (status, out, err) == (2, "", message.format(**files) + "\n")
    assert not (files["t"] / "demo").exists()  # refused before any work


def test_bad_data_names_the_file_and_the_1_based_line(capsys, files) -> None:
    bad = files["t"] / "bad.csv"
    bad.write_text("0,1,1\n1,7,0\n")
    for argv in (["eval", files["m"], "--data", bad],
                 ["mpe", files["m"], "--data", bad, "-o", files["t"] / "o.csv"],
                 ["sample", files["m"], "-n", "1", "--evidence", bad, "-o",
                  files["t"] / "o.csv"]):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == ""
        assert err == (f"pcc {argv[0]}: error: {bad}:2:3: column 1 (x1) holds 7.0, outside "
                       "the domain binary: expected an integer in 0..1 or a missing-value "
                       "mark (1 such rows)\n")
    assert not (files["t"] / "o.csv").exists()


@pytest.mark.parametrize("backend", ["torch", "reference"])
def test_impossible_evidence_names_the_file_and_line(capsys, tmp_path: Path,
                                                     backend: str) -> None:
    b = CircuitBuilder([BINARY, BINARY])
    b.product([b.indicator(0, 1), b.bernoulli(1, 0.5)])  # x0 = 1 always
    model = tmp_path / "det.pcc"
    save_pcc(b.build(), model)
    evidence = tmp_path / "ev.csv"
    evidence.write_text("a,b\n1,*\n\n0,*\n0,1\n")  # header, blank line: rows 1, 2 at 4, 5
    status, out, err = run(capsys, "sample", model, "-n", "3", "--evidence", evidence, "-o",
                           tmp_path / "s.csv", "--backend", backend)
    assert (status, out) == (2, "")
    assert err == (f"pcc sample: error: {evidence}:4: this evidence has probability zero under "
                   f"{model} (2 such rows): there is nothing to sample from\n")
    assert not (tmp_path / "s.csv").exists()
