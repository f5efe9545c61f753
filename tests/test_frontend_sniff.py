"""Content sniffing: where a file's name does not say its format (`.txt`, no extension), its
content does; `--format` still wins; the choice is said in one line on stderr."""

from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

import pytest

from pcc.frontends.jpc import format_jpc
from pcc.frontends.psdd import read_psdd
from pcc.frontends.sniff import sniff
from pcc.frontends.spflow_writer import format_equation, format_graph
from pcc.io import load_circuit, save_pcc
from pcc.io.formats import choose_format, save_circuit
from pcc.ir import FormatError
from tests.fuzz_seeds import AC, PCJL, PSDD, SPAC, SPAC_LEAVES, VTREE
from tests.helpers import assert_same_circuit

CIRCUIT = read_psdd("seed.psdd", text=PSDD)
TEXTS = {
    "psdd": PSDD, "jpc": format_jpc(CIRCUIT), "pcjl_spn": PCJL, "libra_ac": AC,
    "spflow": format_graph(CIRCUIT), "spflow_eq": format_equation(CIRCUIT),
    "libra_ac (binary, constants)": "(2 2)\nn 0.5\nv 0 0\nv 0 1\n* 0 1\nv 1 0\n* 3 4\nEOF\n",
}


@pytest.mark.parametrize("label", list(TEXTS))
@pytest.mark.parametrize("name", ["model.txt", "model", "model.bin"])
def test_text_formats_are_sniffed(tmp_path: Path, label: str, name: str) -> None:
    expected = label.split(" ")[0]
    path = tmp_path / name
    path.write_text(TEXTS[label])
    assert sniff(path) is not None and sniff(path)[0] == expected  # type: ignore[index]
    chosen, how = choose_format(path)
    assert chosen == expected and how.startswith("from the content")
    assert_same_circuit(load_circuit(path), load_circuit(path, format=expected))


def test_gzip_pcc_and_directories_are_sniffed(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_bytes(gzip.compress(PSDD.encode()))
    assert choose_format(tmp_path / "p.txt")[0] == "psdd"
    save_pcc(CIRCUIT, tmp_path / "c.pcc")
    shutil.copy(tmp_path / "c.pcc", tmp_path / "c")
    assert choose_format(tmp_path / "c")[0] == "pcc"
    assert_same_circuit(load_circuit(tmp_path / "c"), CIRCUIT)
    model = tmp_path / "model"
    model.mkdir()
    (model / "spac.m").write_text(SPAC)
    for leaf, text in SPAC_LEAVES.items():
        (model / leaf).write_text(text)
    assert choose_format(model)[0] == "libra_spn"
    load_circuit(model)


def test_what_is_not_a_circuit_says_so(tmp_path: Path) -> None:
    (tmp_path / "v.txt").write_text(VTREE)
    with pytest.raises(FormatError, match=r"v.txt: this is a UCLA vtree file"):
        load_circuit(tmp_path / "v.txt")
    (tmp_path / "h.txt").write_text("hello\n")
    with pytest.raises(FormatError, match=r"h.txt: cannot tell the format from the file name or "
                                          r"its content"):
        load_circuit(tmp_path / "h.txt")
    (tmp_path / "e.txt").write_bytes(b"")
    with pytest.raises(FormatError, match="cannot tell"):
        load_circuit(tmp_path / "e.txt")
    with pytest.raises(FormatError, match=r"absent.txt: no such file"):
        load_circuit(tmp_path / "absent.txt")


def test_format_option_overrides_and_names_decide_first(tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    path.write_text(PSDD)
    assert choose_format(path, "spflow_eq") == ("spflow_eq", "given by --format")
    with pytest.raises(FormatError, match=r"model.txt:\d+:\d+"):  # read as SPFlow text: an error
        load_circuit(path, format="spflow_eq")
    (tmp_path / "m.psdd").write_text(PSDD)
    assert choose_format(tmp_path / "m.psdd") == ("psdd", "from the file name")
    with pytest.raises(FormatError, match="unknown format 'nope'"):
        choose_format(path, "nope")


def test_writing_needs_a_name_that_says(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot tell the format to write"):
        save_circuit(CIRCUIT, tmp_path / "out.txt")
    save_circuit(CIRCUIT, tmp_path / "out.txt", format="spflow_eq")
    assert choose_format(tmp_path / "out.txt")[0] == "spflow_eq"


def test_the_choice_is_said_in_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "model.txt"
    path.write_text(TEXTS["spflow_eq"])
    with caplog.at_level(logging.WARNING, logger="pcc"):
        load_circuit(path)
        load_circuit(path, format="spflow_eq")
    assert [r.getMessage() for r in caplog.records] == [
        f"pcc: {path}: read as spflow_eq (from the content: it starts like an SPFlow equation; "
        "--format overrides)"]


def test_pcc_check_of_a_txt_model(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "model.txt"
    path.write_text(TEXTS["spflow_eq"])
    done = subprocess.run([sys.executable, "-m", "pcc.cli.main", "check", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"pcc: {path}: read as spflow_eq (from the content: it starts like an SPFlow equation; "
        "--format overrides)"]
    assert "smooth: yes" in done.stdout
