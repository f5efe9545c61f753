"""Smoke test on real learned PSDDs from ../shared/data (skipped where absent): PSDDs are
smooth, decomposable, structured along their vtree, and deterministic, and pcc proves it."""

from __future__ import annotations

import pytest

from pcc.analysis import check
from pcc.frontends.vtree_json import load_any_vtree

NAMES = ["little_4var", "kdd-6k", "tretail"]


@pytest.mark.parametrize("name", NAMES)
def test_psdds_pass_every_analysis(shared_data, name):
    from pcc.io import FORMATS, load_circuit

    if "psdd" not in FORMATS:
        pytest.skip("no PSDD reader")
    folder = shared_data / "circuits" / "psdd"
    circuit = load_circuit(folder / f"{name}.psdd")
    given = check(circuit, vtree=load_any_vtree(str(folder / f"{name}.vtree")))
    assert given.valid and given.normalized, given.violations[:3]
    assert given.structured_decomposable and given.vtree_source == "given"
    assert given.deterministic == "yes", given.determinism_unproved
    implied = check(circuit)
    assert implied.structured_decomposable and implied.vtree_source == "implied"
