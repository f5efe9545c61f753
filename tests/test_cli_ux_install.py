"""Issue 23, item 4: after a plain `pip install .` (no extras) `pcc demo` says in one line what
to install instead of a ModuleNotFoundError traceback; the extra it names is the one in
pyproject.toml that holds scikit-learn, and the README shows the plain pip path."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest

from pcc.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
MESSAGE = ("pcc demo: error: the demo's data come from scikit-learn, which is not installed: "
           "pip install 'pcc[examples]' (or pip install scikit-learn; from a clone: "
           "pip install '.[examples]')\n")


@pytest.mark.parametrize("how", ["blocked", "absent"])
def test_demo_without_scikit_learn_is_one_line(capsys, tmp_path: Path, monkeypatch,
                                               how: str) -> None:
    if how == "blocked":  # `import sklearn` raises ModuleNotFoundError, as after pip install .
        monkeypatch.setitem(sys.modules, "sklearn", None)
    else:  # what find_spec answers where it was never installed
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name == "sklearn" else real(name, *a))
    status = main(["demo", "-o", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert (status, out, err) == (2, "", MESSAGE)
    assert not (tmp_path / "out").exists()  # nothing written


def test_the_extra_named_is_the_one_holding_scikit_learn() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    holding = [name for name, deps in extras.items()
               if any(d.startswith("scikit-learn") for d in deps)]
    assert holding == ["examples"] and "pcc[examples]" in MESSAGE


def test_readme_shows_a_plain_pip_install() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme  # the two-command set-up stays
    assert re.search(r"^pip install \.\s", readme, re.M) and "pip install '.[examples]'" in readme
