"""Bad input to every parser: one FormatError naming file:line:col and the offending token.
Golden messages, one tiny case each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pcc.frontends.jpc import load_jpc
from pcc.frontends.libra_ac import load_libra_ac
from pcc.frontends.libra_spn import load_libra_spn
from pcc.frontends.pcjl_spn import load_pcjl_spn
from pcc.frontends.psdd import read_psdd
from pcc.frontends.spflow_text import load_spflow_text
from pcc.frontends.vtree_file import read_vtree
from pcc.ir import FormatError
from tests.frontend_data import circuit_path


def _vtree(path: str, text: str) -> object:
    return read_vtree(path, text)


GOLDEN = [
    # PSDD: truncated line, unknown/forward child, unparsable numbers, header, duplicates
    (read_psdd, "psdd 3\nL 0 0 1\nL 1 0 -1\nD 2 1 2 0 1 -0.5\n",
     "f:4:17: a decision node with 2 elements needs 10 tokens, found 7 (the line ends here)"),
    (read_psdd, "psdd 3\nL 0 0 1\nL 1 0 -1\nD 2 1 1 0 7 0.0\n",
     "f:4:11: unknown child id (children must appear before their parent) (got '7')"),
    (read_psdd, "psdd 3\nL 0 0 1\nD 2 1 1 0 3 0.0\nL 3 0 -1\n",
     "f:3:11: unknown child id (children must appear before their parent) (got '3')"),
    (read_psdd, "psdd 3\nL 0 0 x\n", "f:2:7: the literal must be an integer (got 'x')"),
    (read_psdd, "psdd 3\nL 0 0 1\nL 1 1 2\nD 2 2 1 0 1 zero\n",
     "f:4:13: a log-weight must be a number (got 'zero')"),
    (read_psdd, "L 0 0 1\n", "f:1:1: expected the header 'psdd N' (got 'L')"),
    (read_psdd, "psdd 3\nL 0 0 1\nL 0 0 -1\n",
     "f:3:3: duplicate node id (first defined at line 2) (got '0')"),
    (read_psdd, "psdd 1\nT 0 0 1 0.5\n", "f:2:9: log P(x = 1) must be <= 0 (got '0.5')"),
    (read_psdd, "psdd 1\n", "f: the file has no node lines"),
    # vtree: counts, forward children, repeated variables
    (_vtree, "vtree 3\nL 0 1\nL 1 2\n", "f:1:7: the header says 3 nodes but the file has 2 (got '3')"),
    (_vtree, "vtree 3\nL 0 1\nI 2 0 1\nL 1 2\n",
     "f:3:7: unknown child id (children must appear before their parent) (got '1')"),
    (_vtree, "vtree 3\nL 0 1\nL 1 1\nI 2 0 1\n", "f:3:5: variable 1 already has a leaf at line 2 (got '1')"),
    # jpc
    (load_jpc, "jpc 3\nL 0 0 1\nL 1 0 -1\n", "f:1:5: the header says 3 nodes but the file has 2 (got '3')"),
    (load_jpc, "jpc 3\nL 0 0 1\nL 1 0 -1\nS 2 0 2 0 -0.1 5 -2.3\n",
     "f:4:16: unknown child id (children must appear before their parent) (got '5')"),
    (load_jpc, "jpc 2\nL 0 0 1\nP 1 0 1 0.5\n", "f:3:9: a child id must be an integer (got '0.5')"),
    (load_jpc, "jpc 2\nL 0 0 1\nS 1 0 2 0 -0.1\n",
     "f:3:15: a sum with 2 children needs 8 tokens, found 6 (the line ends here)"),
    # PC.jl .spn
    (load_pcjl_spn, "(2 2)\nv 0 0\nv 0 1\n+ 0 -0.1 1 -2.3\n", "f:5: truncated file: no EOF line"),
    (load_pcjl_spn, "(2 2)\nv 0 0\n* 0 4\nEOF\n",
     "f:3:5: unknown child index (children must be earlier lines) (got '4')"),
    (load_pcjl_spn, "(2 2)\nv 0 0\nv 0 1\n+ 0 -0.1 1 nan\nEOF\n",
     "f:4:12: a log-weight must be a number < inf (got 'nan')"),
    # Libra .ac
    (load_libra_ac, "(2)\nv 0 0\nv 0 1\n+ 0 1\n", "f:5: truncated file: no EOF line"),
    (load_libra_ac, "(2)\nn -0.5\nEOF\n", "f:2:3: a constant must be >= 0 (got '-0.5')"),
    (load_libra_ac, "(2)\nv 0 2\nEOF\n", "f:2:5: value out of the variable's domain 0..1 (got '2')"),
    (load_libra_ac, "(2)\nv 0 0\nv 0 1\n+ 0 1 3\nEOF\n",
     "f:4:7: unknown child index (children must be earlier node lines) (got '3')"),
    (load_libra_ac, "(2)\nv 0 0\nn 0.5\n+ 0 1\nEOF\n",
     "f:4:5: a sum mixes constants with non-constant children; such an AC has no PC form (a "
     "constant has an empty scope) (got '1')"),
    (load_libra_ac, "(2 x)\nv 0 0\nEOF\n", "f:1:4: a domain size must be an integer (got 'x')"),
    (load_libra_ac, "(2)\nv 0 0\nn 0\n* 0 1\nEOF\n",
     "f: the partition function is zero: the circuit gives no input positive probability"),
    # SPFlow text
    (load_spflow_text, "(0.3*(Bernoulli(V0|p=0.2)) + 0.7*(Foo(V0|p=0.5)))",
     "f:1:35: unknown SPFlow leaf type; pcc reads Bernoulli, Categorical, Gaussian, Poisson, "
     "Histogram (got 'Foo')"),
    (load_spflow_text, "(0.3*(Bernoulli(V0|p=0.2)) + 0.7*(Bernoulli(V0|p=0.5))",
     "f:1:55: expected ) (the text ends here)"),
    (load_spflow_text, "S SumNode(0.5*A, 0.5*B){\n\tA Bernoulli(V0|p=0.2)\n}\n",
     "f:1:22: child 'B' is not defined (got 'B')"),
    (load_spflow_text, "(Bernoulli(age|p=0.2) * Bernoulli(V1|p=0.5))",
     "f:1:12: unknown feature name (use V<i>, or give the feature names) (got 'age')"),
    (load_spflow_text, "(Bernoulli(V0|p=0.2) * Bernoulli(V1|q=0.5))",
     "f:1:37: Bernoulli takes p (got 'q')"),
    (load_spflow_text, "(Bernoulli(V0|p=0.2) * Bernoulli(V1|p=1.5))",
     "f:1: invalid circuit: input #1 (f:1): p must lie in [0, 1], got 1.5 at [0]"),
]


@pytest.mark.parametrize("load, text, message", GOLDEN, ids=[str(i) for i in range(len(GOLDEN))])
def test_golden_error(load, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as info:
        load("f", text=text)
    assert str(info.value) == message


def test_vtree_that_does_not_match_the_psdd() -> None:
    with pytest.raises(FormatError, match=r"little_4var.psdd:\d+:\d+: .*vtree does not match"):
        read_psdd(circuit_path("psdd/little_4var.psdd"), circuit_path("psdd/simple2.vtree"))
    with pytest.raises(FormatError, match=r"nltcs.psdd:\d+:\d+: .*vtree does not match"):
        read_psdd(circuit_path("psdd/nltcs.psdd"), circuit_path("psdd/msnbc.vtree"))


def test_swapped_vtree_children_are_caught() -> None:
    """A D node whose prime is under the right vtree child: named with its token."""
    vtree = "vtree 3\nL 0 1\nL 1 2\nI 2 1 0\n"
    psdd = "psdd 3\nL 0 0 1\nL 1 1 2\nD 2 2 1 0 1 0.0\n"
    tree, _ = read_vtree("v", vtree)
    with pytest.raises(FormatError) as info:
        read_psdd("f", tree, text=psdd)
    assert str(info.value) == ("f:4:9: element 1: the prime is not under the left child of "
                               "vtree node 2 (the vtree does not match the PSDD) (got '0')")


def test_libra_spn_directory_errors(tmp_path: Path) -> None:
    model = tmp_path / "m.spn"
    model.mkdir()
    (model / "spac.m").write_text("spac\n2\nn 0 + -1\n1 2\n-0.5 -0.9\n0\nn 1 ac 0\n0\n")
    with pytest.raises(FormatError, match=r"spac.m:4:3: unknown child id .* \(got '2'\)"):
        load_libra_spn(model)
    (model / "spac.m").write_text("spac\n3\nn 0 + -1\n1 2\n-0.5 -0.9\n0\nn 1 ac 0\n0\nn 2 ac 0\n0\n")
    with pytest.raises(FormatError, match=r"spac.m:7:3: leaf circuit spac-1.ac is missing"):
        load_libra_spn(model)
    (model / "spac.m").write_text("spac\n4\nn 0 + -1\n1 2\n-0.5 -0.9\n0\n")
    with pytest.raises(FormatError, match=r"spac.m:2:1: the header says 4 records but the file "
                                          r"has 1 \(got '4'\)"):
        load_libra_spn(model)
    (model / "spac.m").write_text("spac\n1\nn 0 + -1\n1 2\n-0.5\n0\n")
    with pytest.raises(FormatError, match=r"spac.m:5:5: 2 children but 1 weights"):
        load_libra_spn(model)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        load_jpc(tmp_path / "missing.jpc")
    (tmp_path / "bin.jpc").write_bytes(b"jpc 1\n\xff\xfe\n")
    with pytest.raises(FormatError, match=r"bin.jpc:2:1: not UTF-8 text"):
        load_jpc(tmp_path / "bin.jpc")
    (tmp_path / "trunc.jpc.gz").write_bytes(b"\x1f\x8b\x08\x00")
    with pytest.raises(FormatError, match="corrupt gzip"):
        load_jpc(tmp_path / "trunc.jpc.gz")


def test_data_columns_must_match(tmp_path: Path) -> None:
    from pcc.data import check_columns, read_data
    from pcc.ir import BINARY

    path = tmp_path / "d.data"
    path.write_text("1,0,1\n1,0\n")
    with pytest.raises(FormatError, match=r"d.data:2: row has 2 columns but the first row has 3"):
        read_data(path)
    path.write_text("1,0,1\n1,*,0\n")
    with pytest.raises(FormatError, match=r"d.data:1: the data has 3 columns but the circuit has "
                                          r"2 variables"):
        check_columns(read_data(path), [BINARY, BINARY])
    path.write_text("1,0,1\n1,*,2\n")
    with pytest.raises(FormatError, match=r"d.data:2:5: column 2 \(x2\) holds 2.0, outside the "
                                          r"domain binary"):
        check_columns(read_data(path), [BINARY] * 3)
    path.write_text("1,0,1\n1,x,2\n")
    with pytest.raises(FormatError, match=r"d.data:2:3: not a number or a missing-value mark"):
        read_data(path)
    assert np.isnan(read_data(circuit_path("libra/inference_model19/test19.ev")).values).any()
