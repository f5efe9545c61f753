"""`pcc check` and `pcc info`: exit codes 0/1/2, the printed report, the JSON keys, and one
line on stderr (no traceback) for bad input."""

from __future__ import annotations

import json

import pytest

from pcc.cli.main import main
from pcc.io import save_pcc
from tests import analysis_circuits as make
from tests.golden_files import assert_golden

REPORT_KEYS = {"valid", "smooth", "decomposable", "structured_decomposable", "vtree",
               "vtree_source", "deterministic", "determinism_unproved", "normalized",
               "violations", "stats"}
VIOLATION_KEYS = {"property", "node", "kind", "children", "scopes", "message"}
STATS_KEYS = {"groups", "units", "modes", "families", "edges", "parameters", "depth",
              "max_fan_in", "variables", "variables_in_scope"}


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name in ("not_smooth", "not_normalized", "not_structured", "sdd_like"):
        paths[name] = tmp_path / f"{name}.pcc"
        save_pcc(getattr(make, name)(), paths[name])
    return paths


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:  # an option refused by the parser
        status = int(exit.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_check_exit_status_is_0_for_a_valid_pc_and_1_for_violations(files, capsys):
    status, out, err = run(capsys, "check", files["sdd_like"])
    assert status == 0 and err == ""
    assert "valid PC (smooth and decomposable): yes" in out
    status, out, _ = run(capsys, "check", files["not_smooth"])
    assert status == 1
    assert "  sum #5 is not smooth: child #4 has scope {0,1}, child #2 has scope {0}" in out
    # unnormalized weights and a missing vtree are reported but do not make a PC invalid
    assert run(capsys, "check", files["not_normalized"])[0] == 0
    assert run(capsys, "check", files["not_structured"])[0] == 0


def test_check_prints_the_golden_report(files, capsys):
    _, out, _ = run(capsys, "check", files["not_smooth"])
    assert_golden("analysis/cli_check_not_smooth.txt", out.replace(str(files["not_smooth"]),
                                                                   "FILE"))


def test_check_json_has_the_documented_keys(files, capsys):
    status, out, _ = run(capsys, "check", "--json", files["not_smooth"])
    assert status == 1
    report = json.loads(out)
    assert set(report) == REPORT_KEYS and set(report["stats"]) == STATS_KEYS
    assert report["valid"] is False and report["smooth"] is False
    assert report["deterministic"] in ("yes", "unknown")
    assert len(report["violations"]) == 3
    for violation in report["violations"]:
        assert set(violation) == VIOLATION_KEYS
        assert len(violation["children"]) == len(violation["scopes"])
    assert report["violations"][0]["scopes"] == [[0, 1], [0]]


def test_check_against_a_json_vtree(files, tmp_path, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text("[[0, 1], 2]")
    bad.write_text("[[0, 1], [2")
    status, out, _ = run(capsys, "check", "--json", "--vtree", good, files["sdd_like"])
    report = json.loads(out)
    assert status == 0 and report["vtree"] == [[0, 1], 2] and report["vtree_source"] == "given"
    assert report["structured_decomposable"] is True
    status, out, _ = run(capsys, "check", "--vtree", good, files["not_structured"])
    assert "product #6 does not respect the vtree" in out and status == 0
    status, _, err = run(capsys, "check", "--vtree", bad, files["sdd_like"])
    assert status == 2 and err.count("\n") == 1 and f"{bad}:1:" in err
    ucla = tmp_path / "x.vtree"  # the same vtree, 1-based, in the UCLA format
    ucla.write_text("c ((1 2) 3)\nvtree 5\nL 0 1\nL 2 2\nI 1 0 2\nL 3 3\nI 4 1 3\n")
    status, out, _ = run(capsys, "check", "--json", "--vtree", ucla, files["not_structured"])
    assert status == 0 and json.loads(out)["vtree"] == [[0, 1], 2]
    assert [v["node"] for v in json.loads(out)["violations"]] == [6]
    (tmp_path / "odd.json").write_text("[0, 1, 2]")
    status, _, err = run(capsys, "check", "--vtree", tmp_path / "odd.json", files["sdd_like"])
    assert status == 2 and "nested pairs" in err


def test_info_prints_stats_and_properties(files, capsys):
    status, out, _ = run(capsys, "info", files["not_smooth"])
    assert status == 0
    assert out.splitlines()[1] == "groups:     9 (4 input, 3 product, 2 sum)"
    assert "smooth: no (2 violations)" in out
    assert "violations: 3 (run `pcc check` to list them)" in out
    status, out, _ = run(capsys, "info", "--json", files["sdd_like"])
    report = json.loads(out)
    assert status == 0 and set(report) == REPORT_KEYS and set(report["stats"]) == STATS_KEYS
    assert report["deterministic"] == "yes"


@pytest.mark.parametrize("command", ["check", "info"])
def test_bad_input_is_one_line_on_stderr_and_status_2(command, files, tmp_path, capsys):
    data = files["sdd_like"].read_bytes()
    cases = {
        "truncated.pcc": data[: len(data) // 2],
        "garbage.pcc": b"this is not a circuit\n",
        "empty.pcc": b"",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        status, out, err = run(capsys, command, path)
        assert status == 2 and out == ""
        assert err.startswith(f"pcc {command}: error: {path}") and err.count("\n") == 1
        assert "Traceback" not in err
    status, _, err = run(capsys, command, tmp_path / "missing.pcc")
    assert status == 2 and "no such file" in err
    status, _, err = run(capsys, command, tmp_path / "circuit.unknown")
    assert status == 2 and "--format" in err


def test_misuse_exits_2(files, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["check"])
    assert exit.value.code == 2
    with pytest.raises(SystemExit) as exit:
        main(["check", "--format", "nope", str(files["sdd_like"])])
    assert exit.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["check", "--format", "pcc", str(files["sdd_like"])]) == 0


def test_the_determinism_budget_option(files, capsys):
    status, out, _ = run(capsys, "check", "--determinism-budget", "0", files["sdd_like"])
    assert status == 0 and "deterministic: unknown (sum #" in out and "gave up after 0 steps" in out
    status, _, err = run(capsys, "info", "--determinism-budget", "-3", files["sdd_like"])
    assert status == 2 and err == ("pcc info: error: argument --determinism-budget: must be an "
                                   "integer >= 0, got '-3'\n")


def test_debug_shows_the_traceback(tmp_path):
    from pcc.ir import FormatError

    path = tmp_path / "garbage.pcc"
    path.write_bytes(b"garbage")
    with pytest.raises(FormatError):
        main(["--debug", "check", str(path)])
