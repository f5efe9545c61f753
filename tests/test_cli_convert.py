"""`pcc convert IN OUT`: every readable format to every writable one, the distribution kept;
formats from names or --format/--to; unrepresentable targets fail with one error line."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from pcc.backends.reference import log_likelihood
from pcc.cli.main import main
from pcc.io import load_circuit
from tests.frontend_data import circuit_path

SOURCES = ["psdd/little_4var.psdd", "libra/inference_model19/model19.spn/spac-9.ac",
           "spflow_text/NLTCS_200/structure.spn", "libra/inference_model19/model19.spn"]
TARGETS = ["c.pcc", "c.jpc", "c.spflow", "c.psdd"]
# SPFlow text is a tree: the 21k-group model19 DAG expands to 153k nodes, too slow for a unit test
PAIRS = [(s, t) for s, t in itertools.product(SOURCES, TARGETS)
         if not (s.endswith("model19.spn") and t == "c.spflow")]


def run(capsys, *argv: object) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _rows(circuit) -> np.ndarray:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    sizes = [d.size or 2 for d in circuit.domains]
    x = np.stack([rng.integers(0, s, 40) for s in sizes], axis=1).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan
    return x


@pytest.mark.parametrize("source, target", PAIRS)
def test_convert_keeps_the_distribution(capsys, tmp_path: Path, source: str, target: str) -> None:
    original = load_circuit(circuit_path(source))
    status, out, err = run(capsys, "convert", circuit_path(source), tmp_path / target)
    refused = (target == "c.psdd" and not source.endswith(".psdd")  # not PSDD-shaped
               or target == "c.jpc" and "spflow_text" in source)  # histograms: no .jpc form
    if refused:
        assert status == 2 and out == ""
        assert err.startswith(f"pcc convert: error: {tmp_path / target}: cannot write ")
        return
    assert status == 0 and err == "", err
    assert out.startswith(f"wrote {tmp_path / target}")
    again = load_circuit(tmp_path / target)
    x = _rows(original)
    np.testing.assert_allclose(log_likelihood(again, x), log_likelihood(original, x),
                               rtol=1e-12, atol=1e-12)


def test_convert_with_explicit_formats_and_vtree(capsys, tmp_path: Path) -> None:
    status, _, err = run(capsys, "convert", circuit_path("psdd/nltcs.clt.psdd"), tmp_path / "out",
                         "--to", "psdd", "--vtree", circuit_path("psdd/nltcs.vtree"))
    assert status == 0, err
    assert (tmp_path / "out.vtree").exists()
    status, _, err = run(capsys, "convert", tmp_path / "out", tmp_path / "eq.txt", "--format",
                         "psdd", "--to", "spflow_eq")
    assert status == 0, err
    assert (tmp_path / "eq.txt").read_text().startswith("(")
    again = load_circuit(tmp_path / "eq.txt", "spflow_eq")
    original = load_circuit(circuit_path("psdd/nltcs.clt.psdd"))
    x = _rows(original)
    np.testing.assert_allclose(log_likelihood(again, x), log_likelihood(original, x), atol=1e-12)


def test_convert_errors(capsys, tmp_path: Path) -> None:
    status, _, err = run(capsys, "convert", circuit_path("psdd/little_4var.psdd"),
                         tmp_path / "x.unknown")
    assert status == 2 and "cannot tell the format to write from the file name" in err
    status, _, err = run(capsys, "convert", circuit_path("psdd/little_4var.psdd"),
                         tmp_path / "x.ac")
    assert status == 2 and "pcc cannot write the libra_ac format" in err
    status, _, err = run(capsys, "convert", circuit_path("psdd/little_4var.psdd"),
                         tmp_path / "x.psdd", "--vtree", circuit_path("psdd/simple2.vtree"))
    assert status == 2 and "vtree does not match the PSDD" in err
