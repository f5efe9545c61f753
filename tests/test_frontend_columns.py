"""The vectorized PSDD reader and the columnar builder: the same circuit, bit for bit and origin
for origin, as the line-by-line checking reader; and it declines (so the checking reader names
the problem) on anything it does not handle."""

from __future__ import annotations

import numpy as np
import pytest

from pcc.frontends import psdd
from pcc.frontends._columns import PRODUCT, SUM, build_columns, reachable
from pcc.frontends._text import decode, read_bytes
from pcc.frontends.psdd_fast import parse_psdd
from pcc.ir import BINARY, FormatError, Vtree
from tests.frontend_data import CIRCUITS, need_shared
from tests.fuzz_seeds import PSDD, VTREE
from tests.helpers import assert_same_circuit


def _both(raw: bytes, tree: Vtree | None = None, ids: dict[int, int] | None = None) -> None:
    fast = parse_psdd(raw, "f.psdd", tree, ids)
    assert fast is not None
    checked = psdd._read_checked("f.psdd", decode(raw, "f.psdd"), tree, ids)
    assert_same_circuit(fast, checked)
    assert [g.origin for g in fast] == [g.origin for g in checked]


def test_fast_reader_matches_the_checking_reader() -> None:
    tree, ids = psdd.read_vtree("v.vtree", VTREE)
    _both(PSDD.encode())
    _both(PSDD.encode(), tree, ids)
    # comments between nodes, blank lines, tabs, a header without a count, an unreached node
    odd = PSDD.replace("psdd 11", "c x\n\npsdd").replace("L 6 3 4", "c y\nL\t6 3 4\n\nL 99 3 -4")
    _both(odd.encode())


@pytest.mark.parametrize("change", [
    lambda t: t.replace("L 0 0 1", "L 0 0 +1"),             # int() takes it; the fast path not
    lambda t: t.replace("L 0 0 1", "L 0 0 1_0"),
    lambda t: t.replace("psdd 11", "psdd 11\r"),
    lambda t: t.replace("c a", "c \u00e9"),
    lambda t: t.replace("D 9 5 2 4 6", "D 9 5 2 4 66"),     # unknown child
    lambda t: t.replace("-0.5", "0.5"),                     # log P > 0
    lambda t: t.replace("L 2 1 2", "L 2 1 2 7"),
    lambda t: t.replace("L 2 1 2", "L 2 1 99999999999999999999"),
    lambda t: t.replace("L 1 0 -1", "L 0 0 -1"),            # duplicate id
    lambda t: t.rstrip().rsplit("\n", 1)[0] + "\nL 12 0",    # a short last line
])
def test_fast_reader_declines_what_it_does_not_handle(change) -> None:  # type: ignore[no-untyped-def]
    text = change(PSDD)
    assert parse_psdd(text.encode(), "f.psdd", None, None) is None
    try:  # and the public reader gives the checking reader's answer
        expected: object = psdd._read_checked("f.psdd", text, None, None)
    except FormatError as error:
        expected = str(error)
    try:
        got: object = psdd.read_psdd("f.psdd", text=text)
    except FormatError as error:
        got = str(error)
    if isinstance(expected, str):
        assert got == expected
    else:
        assert_same_circuit(got, expected)  # type: ignore[arg-type]


def test_fast_reader_declines_a_vtree_mismatch() -> None:
    tree, ids = psdd.read_vtree("v.vtree", VTREE.replace("I 4 0 1\nI 5 2 3", "I 4 0 2\nI 5 1 3"))
    assert parse_psdd(PSDD.encode(), "f.psdd", tree, ids) is None
    with pytest.raises(FormatError, match=r"f.psdd:\d+:\d+: element .* not under"):
        psdd.read_psdd("f.psdd", tree, text=PSDD)


@pytest.mark.parametrize("name, vtree", [("plants", True), ("nltcs", True), ("msnbc", False),
                                         ("kdd-6k", True), ("nltcs.clt", False)])
def test_fast_reader_on_shared_psdds(name: str, vtree: bool) -> None:
    need_shared()
    path = CIRCUITS / "psdd" / f"{name}.psdd"
    tree, ids = psdd.read_vtree(CIRCUITS / "psdd" / f"{name.split('.')[0]}.vtree") if vtree \
        else (None, None)
    _both(read_bytes(path), tree, ids)


def test_reachable_and_build_keep_what_the_root_reaches() -> None:
    # records: 0,1 inputs; 2 product(0,1); 3 unreached product(0,1); 4 sum(2)
    kind = np.array([0, 0, PRODUCT, PRODUCT, SUM], np.int8)
    child_start = np.array([0, 0, 0, 2, 4, 5])
    children = np.array([0, 1, 0, 1, 2])
    assert reachable(4, child_start, children).tolist() == [True, True, True, False, True]
    inputs = [(0, "indicator", {"value": 1}), (1, "bernoulli", {"p": 0.3})]
    circuit = build_columns(kind, child_start, children, np.array([0, 0, 0, 0, 1.0]), inputs,
                            np.array([1, 2, 3, 4, 5]), [BINARY, BINARY], "f")
    assert len(circuit) == 4 and circuit.groups[2].children == (0, 1)
    assert [g.origin for g in circuit] == ["f:1", "f:2", "f:3", "f:5"]
    with pytest.raises(FormatError, match=r"^f:5: invalid circuit: sum #3"):
        build_columns(kind, child_start, children, np.array([0, 0, 0, 0, -1.0]), inputs,
                      np.array([1, 2, 3, 4, 5]), [BINARY, BINARY], "f")
