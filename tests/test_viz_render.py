"""Rendering with the real `dot`: parse the SVG and count what it draws.

Random circuits (hypothesis) and the real circuits of ../shared/data/circuits (once their readers
are registered in `pcc.io.FORMATS`) go through dot to SVG; the SVG must hold one node per group
(nodes view), one cluster per layer and per block (layers view), one box per block (blocks view),
and the check marks exactly on the nodes the check report names.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from pcc.ir import Circuit, FormatError, Sum
from pcc.regions import linear_chain, poon_domingos, quad_tree, random_binary_trees
from pcc.viz import dot_available, draw, regions_view
from pcc.viz.blocks import MAX_BOXES, make_boxes
from pcc.viz.nodes import oversize
from pcc.viz.render import to_bytes
from pcc.viz.summary import summary_boxes
from tests.strategies import circuits

pytestmark = pytest.mark.skipif(not dot_available(), reason="graphviz `dot` is not installed")

SVG = "{http://www.w3.org/2000/svg}"


def svg_items(svg: bytes) -> dict[str, list[tuple[str, str]]]:
    """(title, classes) of every drawn node, edge and cluster, by kind."""
    root = ET.fromstring(svg)
    out: dict[str, list[tuple[str, str]]] = {"node": [], "edge": [], "cluster": []}
    for g in root.iter(f"{SVG}g"):
        classes = g.get("class", "").split()
        if classes and classes[0] in out:
            title = g.find(f"{SVG}title")
            out[classes[0]].append((title.text if title is not None else "", " ".join(classes)))
    return out


def render_svg(circuit: Circuit, view: str, check: bool = False) -> dict:
    graph = draw(circuit, view, check=check)
    return svg_items(to_bytes(graph, "svg"))


def expected_marks(circuit: Circuit) -> Counter:
    """Which node titles a check report names, and with which class."""
    from pcc.analysis import check

    marks: Counter = Counter()
    report = check(circuit, with_stats=False)
    red = {v.node for v in report.violations if v.property in ("smoothness", "decomposability")}
    for node in {v.node for v in report.violations}:
        marks[(f"n{node}", "violation" if node in red else "warning")] += 1
    return marks


def drawn_marks(items: dict) -> Counter:
    return Counter((title, cls.split()[1]) for title, cls in items["node"] if len(cls.split()) > 1)


def check_views(circuit: Circuit, check: bool = True) -> None:
    from pcc.layering import layer

    items = render_svg(circuit, "nodes", check)
    assert sorted(t for t, _ in items["node"]) == sorted(f"n{g.id}" for g in circuit.groups)
    assert len(items["edge"]) == sum(len(g.children) for g in circuit.groups)
    if check:
        assert drawn_marks(items) == expected_marks(circuit)

    plan = layer(circuit)
    items = render_svg(circuit, "layers", check)
    layers = {int(b.depth) for b in plan.blocks}
    clusters = sorted(t for t, _ in items["cluster"])
    assert clusters == sorted([f"cluster_layer{d}" for d in layers]
                              + [f"cluster_block{i}" for i in range(len(plan.blocks))])
    assert len(items["node"]) == len(circuit)
    if check:
        assert drawn_marks(items) == expected_marks(circuit)

    items = render_svg(circuit, "blocks", check)
    assert len(items["node"]) == len(plan.blocks)


@settings(max_examples=8, deadline=None)
@given(circuits(max_vars=3, max_depth=3))
def test_random_circuits_render_one_svg_node_per_group(circuit: Circuit) -> None:
    check_views(circuit)


def break_smoothness(circuit: Circuit) -> tuple[Circuit, int]:
    """The circuit with its first dense sum over several variables also summing an earlier
    input (with weight 0): that sum is then not smooth, and the report names it."""
    groups = list(circuit.groups)
    masks = circuit.scope_masks
    target = next(g for g in groups if isinstance(g, Sum) and g.mode == "dense"
                  and bin(masks[g.id]).count("1") > 1)
    leaf = next(g for g in groups[:target.id] if g.kind == "input")
    weights = np.concatenate([target.weights, np.zeros((target.units, leaf.units))], axis=1)
    groups[target.id] = Sum(target.id, target.units, target.children + (leaf.id,), weights,
                            target.mode)
    return Circuit(groups, circuit.domains), target.id


REAL = [  # (file, small enough for the nodes and layers views)
    ("psdd/little_4var.psdd", True),
    ("psdd/simple2.1.psdd", True),
    ("psdd/nltcs.clt.psdd", True),
    ("spflow_text/NIPS5/structure.spn", True),
    ("spflow_text/NLTCS_200/structure.spn", True),
    ("psdd/nltcs.psdd", False),
    ("libra/alarm_acbn/alarm-test2.ac", False),
]


def load_real(shared_data: Path, name: str) -> Circuit:
    from pcc.io import load_circuit

    path = shared_data / "circuits" / name
    if not path.exists():
        pytest.skip(f"{path} is not present")
    try:
        return load_circuit(path)
    except FormatError as error:
        if "cannot tell the format" in str(error):
            pytest.skip(f"no reader registered for {name} yet")
        raise


@pytest.mark.parametrize("name,small", REAL)
def test_real_circuits(shared_data: Path, name: str, small: bool) -> None:
    from pcc.layering import layer

    circuit = load_real(shared_data, name)
    if small and oversize(circuit, "nodes") is None:
        check_views(circuit)
        broken, sum_id = break_smoothness(circuit)
        items = render_svg(broken, "nodes", check=True)
        assert (f"n{sum_id}", "violation") in drawn_marks(items)
        assert drawn_marks(items) == expected_marks(broken)
        return
    # too large for a node picture: the layers summary, a row per depth (its ruler and a box
    # per block); the blocks view, one box per block of the plan (or per depth and op when
    # there are more blocks than a picture shows)
    plan = layer(circuit)
    with pytest.warns(UserWarning, match="too many for the nodes view"):
        graph = draw(circuit, "nodes")
    items = svg_items(to_bytes(graph, "svg"))
    depths = {int(b.depth) for b in plan.blocks}
    assert len(items["node"]) == len(summary_boxes(plan)) + len(depths)
    assert not items["cluster"]
    items = svg_items(to_bytes(draw(circuit, "blocks"), "svg"))
    boxes = make_boxes(plan, MAX_BOXES)
    assert len(items["node"]) == len(boxes) <= MAX_BOXES
    assert not items["cluster"]
    # a sum made non-smooth: the box that holds it turns red, and only boxes with violations
    # are marked at all
    from pcc.analysis import check

    broken, sum_id = break_smoothness(circuit)
    report = check(broken, with_stats=False)
    named = {v.node for v in report.violations}
    red = {v.node for v in report.violations if v.property in ("smoothness", "decomposability")}
    boxes = make_boxes(layer(broken), MAX_BOXES)
    items = svg_items(to_bytes(draw(broken, "blocks", check=report), "svg"))
    marked = dict(drawn_marks(items))
    expected = {}
    for box in boxes:
        ids = set(box.groups.tolist())
        if ids & named:
            expected[(box.name, "violation" if ids & red else "warning")] = 1
    assert marked == expected
    assert any(sum_id in box.groups and (box.name, "violation") in marked for box in boxes)


@pytest.mark.parametrize("make", [
    lambda: quad_tree((3, 4)),
    lambda: quad_tree((4, 4), num_patch_splits=4),
    lambda: random_binary_trees(9, 3, 3, seed=2),
    lambda: poon_domingos((3, 3), 1),
    lambda: linear_chain(5),
], ids=["quad_3x4", "quad4_4x4", "rat_9", "pd_3x3", "chain_5"])
def test_region_graphs_render_regions_and_partitions(make) -> None:  # type: ignore[no-untyped-def]
    graph = make()
    items = svg_items(to_bytes(regions_view(graph), "svg"))
    titles = sorted(t for t, _ in items["node"])
    assert titles == sorted([f"r{r}" for r in range(len(graph.regions))]
                            + [f"p{i}" for i in range(len(graph.partitions))])
    assert len(items["edge"]) == sum(1 + len(p.children) for p in graph.partitions)
