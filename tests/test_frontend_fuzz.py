"""Fuzzing every parser with mutated real files: deleted, duplicated, swapped, corrupted tokens
and lines, truncation. A parser may accept the result or raise pcc's own PccError; anything else
(IndexError, KeyError, ValueError, ...) escaping from inside is a bug."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcc.frontends.jpc import format_jpc, load_jpc
from pcc.frontends.libra_ac import load_libra_ac
from pcc.frontends.libra_spn import load_libra_spn
from pcc.frontends.pcjl_spn import load_pcjl_spn
from pcc.frontends.psdd import read_psdd
from pcc.frontends.spflow_text import load_spflow_text
from pcc.frontends.spflow_writer import format_equation
from pcc.frontends.vtree_file import read_vtree
from pcc.ir import PccError
from tests.frontend_data import circuit_path

JUNK = ["", "0", "-1", "1", "2", "7", "999999", "-0", "x", "1e999", "-1e999", "nan", "inf", "-inf",
        "0.5", "1.5", "(", ")", "[", "]", "*", "+", "|", ";", ",", "EOF", "L", "D", "T", "n",
        "v", "{", "}", "=", "p=", "V0", "V99", "SumNode(", "psdd", "vtree", "jpc", "3)", "(2"]
FUZZ = settings(max_examples=int(__import__("os").environ.get("PCC_FUZZ_EXAMPLES", 100)), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["del", "dup", "swap", "trunc", "tok_del", "tok_dup",
                                   "tok_swap", "tok_junk", "tok_junk"]))
        if op == "del":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "trunc":
            cut = draw(st.integers(0, len(lines[i])))
            lines = lines[:i] + [lines[i][:cut]]
        else:
            tokens = lines[i].split(" ")
            j = draw(st.integers(0, len(tokens) - 1))
            if op == "tok_del":
                del tokens[j]
            elif op == "tok_dup":
                tokens.insert(j, tokens[j])
            elif op == "tok_swap":
                k = draw(st.integers(0, len(tokens) - 1))
                tokens[j], tokens[k] = tokens[k], tokens[j]
            else:
                tokens[j] = draw(st.sampled_from(JUNK))
            lines[i] = " ".join(tokens)
    return "\n".join(lines) + "\n"


def _only_pcc_errors(load: Callable[[str], object], text: str) -> None:
    try:
        load(text)
    except PccError:
        pass


def _seed(relative: str, max_lines: int | None = None, tail: str = "") -> str:
    lines = circuit_path(relative).read_text().splitlines()
    return "\n".join(lines[:max_lines]) + "\n" + tail


def _fuzz(load: Callable[[str], object], seed: Callable[[], str]) -> None:
    text = seed()

    @FUZZ
    @given(mutated(text))
    def run(mutant: str) -> None:
        _only_pcc_errors(load, mutant)

    run()


def test_fuzz_psdd() -> None:
    vtree = circuit_path("psdd/little_4var.vtree")
    _fuzz(lambda t: read_psdd("f.psdd", vtree, text=t), lambda: _seed("psdd/little_4var.psdd"))


def test_fuzz_psdd_without_vtree() -> None:
    _fuzz(lambda t: read_psdd("f.psdd", text=t), lambda: _seed("psdd/nltcs.clt.psdd"))


def test_fuzz_vtree() -> None:
    _fuzz(lambda t: read_vtree("f.vtree", text=t), lambda: _seed("psdd/little_4var.vtree"))


def test_fuzz_jpc() -> None:
    def seed() -> str:
        from pcc.io import load_circuit

        text = format_jpc(load_circuit(circuit_path("psdd/little_4var.psdd")))
        # add the leaf kinds the little PSDD lacks: I, C, B and G lines
        return text.replace("jpc 20", "jpc 24") + ("I 20 0 5 2\nC 21 0 5 -0.5 -1.2 -2.3\n"
                                                   "B 22 0 6 3 -0.7\nG 23 0 7 0.5 2.0\n")
    _fuzz(lambda t: load_jpc("f.jpc", text=t), seed)


def test_fuzz_pcjl_spn() -> None:
    def seed() -> str:
        lines = _seed("pcjl_spn/mnist_cats8_181.spn", 60).splitlines()
        return "\n".join(lines) + "\nEOF\n"
    _fuzz(lambda t: load_pcjl_spn("f.spn", text=t), seed)


def test_fuzz_libra_ac() -> None:
    _fuzz(lambda t: load_libra_ac("f.ac", text=t),
          lambda: _seed("libra/inference_model19/model19.spn/spac-11.ac"))


def test_fuzz_libra_ac_unnormalized() -> None:
    _fuzz(lambda t: load_libra_ac("f.ac", text=t), lambda: _seed("libra/msweb/msweb-mn.ac", 120,
                                                                 "EOF\n"))


def test_fuzz_libra_spn() -> None:
    source = circuit_path("libra/msweb/msweb.spn")
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "m.spn"
        shutil.copytree(source, model)
        spac = model / "spac.m"

        def load(text: str) -> object:
            spac.write_text(text)
            return load_libra_spn(model)
        _fuzz(load, lambda: (source / "spac.m").read_text())


def test_fuzz_spflow_ref_graph() -> None:
    _fuzz(lambda t: load_spflow_text("f.spn", text=t), lambda: _seed("spflow_text/NIPS5/structure.spn"))


def test_fuzz_spflow_equation() -> None:
    def seed() -> str:
        circuit = load_spflow_text(circuit_path("spflow_text/NIPS5/structure.spn"))
        text = format_equation(circuit)
        # one node per line so that line mutations hit nodes
        return text.replace(" + ", "\n+ ").replace(" * ", "\n* ")
    _fuzz(lambda t: load_spflow_text("f.txt", text=t), seed)


def test_fuzz_data_file() -> None:
    from pcc.data import check_columns, read_data
    from pcc.ir import BINARY

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.data"

        def load(text: str) -> object:
            path.write_text(text.replace(" ", ","))
            return check_columns(read_data(path), [BINARY] * 4)
        _fuzz(load, lambda: "1 0 * 1\n0.5|0 1 ? 0\n1 1 nan 0\n0 0 0 0\n")
