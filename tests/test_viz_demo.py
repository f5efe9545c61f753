"""`pcc demo` (what `make run` runs) on a machine without graphviz: its picture step writes the
DOT text instead, says so in one line, and the demo exits 0."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import pytest

from pcc.cli import demo
from pcc.cli.main import main
from pcc.io import save_circuit
from pcc.viz import dot_available
from tests.test_viz_golden import mixed_circuit

NOTE = "pcc demo: no picture (graphviz `dot` is not installed)"


@pytest.fixture
def no_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH as it is, less `dot`: a folder of links to the first of every other program on
    PATH (the demo still finds `cc` for the native kernel)."""
    shadow = tmp_path / "bin"
    shadow.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            target = os.path.join(folder, name)
            link = shadow / name
            if name != "dot" and not link.exists() and os.access(target, os.X_OK):
                link.symlink_to(target)
    monkeypatch.setenv("PATH", str(shadow))
    assert shutil.which("dot") is None and not dot_available()


def args(out: Path, epochs: int = 1, units: int = 2) -> argparse.Namespace:
    return argparse.Namespace(out=str(out), units=units, epochs=epochs, seed=0)


def test_picture_step_without_dot_writes_dot_text(tmp_path: Path, no_dot: None,
                                                  capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    out.mkdir()
    save_circuit(mixed_circuit(), out / "digits.pcc")
    *_, step = demo.demo_steps(args(out), out, {"train": out / "t", "valid": out / "v",
                                                "test": out / "t"})
    note = capsys.readouterr().out.splitlines()
    assert len(note) == 1 and note[0].startswith(NOTE), note
    assert step[-1] == str(out / "digits-layers.dot")
    assert main(step) == 0
    assert (out / "digits-layers.dot").read_text().startswith("digraph layers")
    assert not (out / "digits-layers.svg").exists()


@pytest.mark.skipif(not dot_available(), reason="graphviz `dot` is not installed")
def test_picture_step_with_dot_is_svg(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    *_, step = demo.demo_steps(args(tmp_path), tmp_path, {"train": tmp_path / "t",
                                                          "valid": tmp_path / "v",
                                                          "test": tmp_path / "t"})
    assert step[-1] == str(tmp_path / "digits-layers.svg")
    assert capsys.readouterr().out == ""


def test_demo_without_dot_exits_0(tmp_path: Path, no_dot: None,
                                  capsys: pytest.CaptureFixture) -> None:
    """The whole demo, one epoch of a K=2 HCLT (about 10 s of CPU)."""
    out = tmp_path / "out"
    assert demo.run(args(out)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith(NOTE) for line in lines) == 1
    assert not any("exited with status" in line for line in lines)
    assert lines[-1].startswith(f"wrote {out / 'digits-layers.dot'} (layers view")
    assert (out / "digits-layers.dot").is_file()
