"""`pcc viz`: every output format, every view, the switch to the layers summary for large
circuits, and
one-line errors with exit status 2 for bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pcc.cli.main import main
from pcc.io import save_circuit
from pcc.regions import build_circuit, quad_tree
from pcc.viz import dot_available
from tests.test_viz_golden import broken_circuit, mixed_circuit

needs_dot = pytest.mark.skipif(not dot_available(), reason="graphviz `dot` is not installed")

MAGIC = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF", "dot": b"digraph", "gv": b"digraph"}


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.pcc"
    save_circuit(mixed_circuit(), path)
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.pcc"
    save_circuit(broken_circuit(), path)
    return path


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    status = main(["viz", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(status: int, err: str) -> str:
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pcc viz: error: "), err
    return lines[0]


@needs_dot
@pytest.mark.parametrize("fmt", sorted(MAGIC))
def test_every_format(capsys, small: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"picture.{fmt}"
    status, stdout, _ = run(capsys, str(small), "-o", str(out))
    assert status == 0 and stdout.startswith(f"wrote {out}")
    assert out.read_bytes().startswith(MAGIC[fmt])


@needs_dot
@pytest.mark.parametrize("view", ["nodes", "layers", "blocks"])
def test_check_marks_reach_the_svg(capsys, broken: Path, tmp_path: Path, view: str) -> None:
    out = tmp_path / f"{view}.svg"
    status, _, _ = run(capsys, str(broken), "-o", str(out), "--view", view, "--check")
    svg = out.read_text()
    assert status == 0 and 'class="node violation"' in svg
    status, _, _ = run(capsys, str(broken), "-o", str(out), "--view", view)
    assert "violation" not in out.read_text()


def test_dot_output_equals_the_python_view(capsys, small: Path, tmp_path: Path) -> None:
    from pcc.viz import draw

    out = tmp_path / "layers.dot"
    assert run(capsys, str(small), "-o", str(out), "--view", "layers")[0] == 0
    assert out.read_text() == draw(mixed_circuit(), "layers").source


def test_large_circuit_switches_to_the_layers_summary_and_says_so(capsys,
                                                                 tmp_path: Path) -> None:
    circuit = build_circuit(quad_tree((16, 16)), 2)
    assert len(circuit) > 400
    path = tmp_path / "large.pcc"
    save_circuit(circuit, path)
    out = tmp_path / "large.dot"
    status, stdout, err = run(capsys, str(path), "-o", str(out))
    assert status == 0 and err == ""
    assert stdout == f"wrote {out} (layers summary view of {len(circuit)} groups)\n"
    assert out.read_text().startswith("digraph layers_summary")
    for view in ("nodes", "layers"):
        status, stdout, err = run(capsys, str(path), "-o", str(out), "--view", view)
        assert status == 0 and "layers summary view" in stdout
        assert err.strip() == (f"pcc viz: the circuit has {len(circuit)} groups, too many for "
                               f"the {view} view (at most 400); drawing one box per block in "
                               "each layer instead")
        assert out.read_text().startswith("digraph layers_summary")
    status, stdout, err = run(capsys, str(path), "-o", str(out), "--view", "blocks")
    assert status == 0 and err == "" and out.read_text().startswith("digraph blocks")


def test_regions_view_of_a_region_graph_file(capsys, tmp_path: Path) -> None:
    graph = quad_tree((3, 3))
    path = tmp_path / "quad.json"
    graph.save(path)
    out = tmp_path / "regions.dot"
    status, _, _ = run(capsys, str(path), "-o", str(out), "--view", "regions")
    text = out.read_text()
    assert status == 0 and text.startswith("digraph regions")
    regions = [line for line in text.splitlines() if re.match(r"\s+r\d+ \[label", line)]
    assert len(regions) == len(graph.regions)
    status, _, err = run(capsys, str(path), "-o", str(out), "--view", "regions", "--check")
    assert "nothing to check" in one_line_error(status, err)


@pytest.mark.parametrize("name", ["out.jpgx", "out.txt", "out"])
def test_a_format_dot_cannot_produce(capsys, small: Path, tmp_path: Path, name: str) -> None:
    status, _, err = run(capsys, str(small), "-o", str(tmp_path / name))
    assert "use .svg, .png, .pdf or .dot" in one_line_error(status, err)
    assert not (tmp_path / name).exists()


def test_unknown_view(capsys, small: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["viz", str(small), "-o", str(tmp_path / "x.svg"), "--view", "pixels"])
    err = capsys.readouterr().err
    assert exit.value.code == 2
    assert err.count("\n") == 1 and "invalid choice: 'pixels'" in err


def test_unwritable_output(capsys, small: Path, tmp_path: Path) -> None:
    status, _, err = run(capsys, str(small), "-o", str(tmp_path / "no" / "such" / "x.dot"))
    assert "does not exist" in one_line_error(status, err)
    folder = tmp_path / "taken.dot"
    folder.mkdir()  # the output name is a folder: writing it fails whoever runs the test
    status, _, err = run(capsys, str(small), "-o", str(folder))
    assert f"cannot write {folder}" in one_line_error(status, err)


def test_missing_input(capsys, tmp_path: Path) -> None:
    status, _, err = run(capsys, str(tmp_path / "nope.pcc"), "-o", str(tmp_path / "x.dot"))
    assert "no such file" in one_line_error(status, err)


def test_missing_dot_is_explained_and_dot_text_still_works(capsys, small: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without the dot program
    status, _, err = run(capsys, str(small), "-o", str(tmp_path / "x.svg"))
    line = one_line_error(status, err)
    assert "`dot` program is not installed" in line and "apt-get install graphviz" in line
    assert run(capsys, str(small), "-o", str(tmp_path / "x.dot"))[0] == 0


def test_regions_view_of_something_else(capsys, small: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "r.dot")  # DOT text: the input's error, with or without graphviz
    status, _, err = run(capsys, str(small), "-o", out, "--view", "regions")
    assert "not a text file; --view regions reads a region graph" in one_line_error(status, err)
    text = tmp_path / "c.txt"
    text.write_text("psdd 1\n")
    status, _, err = run(capsys, str(text), "-o", out, "--view", "regions")
    assert f"{text}:1:1:" in one_line_error(status, err)
    status, _, err = run(capsys, str(tmp_path / "none.json"), "-o", out, "--view", "regions")
    assert "no such file" in one_line_error(status, err)


@pytest.mark.parametrize("option,value", [("--digits", "-1"), ("--digits", "40"),
                                          ("--padding", "1.5"), ("--padding", "-0.1")])
def test_bad_numbers(capsys, small: Path, tmp_path: Path, option: str, value: str) -> None:
    status, _, err = run(capsys, str(small), "-o", str(tmp_path / "x.dot"), option, value)
    assert option in one_line_error(status, err)


def test_padding_budget_reaches_the_plan(capsys, tmp_path: Path) -> None:
    from tests.test_viz_golden import ragged_circuit

    path = tmp_path / "ragged.pcc"
    save_circuit(ragged_circuit(), path)
    out = tmp_path / "b.dot"
    assert run(capsys, str(path), "-o", str(out), "--view", "blocks", "--padding", "0")[0] == 0
    strict = out.read_text()
    assert run(capsys, str(path), "-o", str(out), "--view", "blocks", "--padding", "0.9")[0] == 0
    assert "pad 0%" in strict and "pad 25%" not in strict
    assert strict.count("shape=box") > out.read_text().count("shape=box")
