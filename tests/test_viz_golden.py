"""Golden DOT files for every view of small circuits (tests/golden/viz/*.dot).

The DOT text is the contract: stable ids and order, the same glyphs, labels and tooltips. After
an intended change, regenerate with `PCC_UPDATE_GOLDEN=1 pytest tests/test_viz_golden.py` and read
the diff. The layers and blocks files also pin the layering's plan for these circuits.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from pcc.ir import BINARY, REAL, Circuit, CircuitBuilder
from pcc.regions import build_circuit, quad_tree, random_binary_trees
from pcc.viz import blocks_view, draw, nodes_view, regions_view
from pcc.viz.marks import Marks
from tests.golden_files import assert_golden


def mixed_circuit() -> Circuit:
    """Every glyph: bernoulli, gaussian and indicator leaves, a Kronecker and two hadamard
    products, dense sums (one over a 4-unit child), a mixing root, a shared sub-circuit."""
    b = CircuitBuilder([BINARY, REAL, BINARY])
    x = b.bernoulli(0, p=[0.25, 0.75])
    y = b.gaussian(1, mean=[0.0, 1.0], std=[1.0, 2.0])
    z1, z0 = b.indicator(2, value=1), b.indicator(2, value=0)
    zs = b.sum([z1, z0], weights=[0.3, 0.7])
    s = b.sum([b.product([x, y], mode="kronecker")], weights=[[0.1, 0.2, 0.3, 0.4]])
    b.mixture([b.product([s, zs]), b.product([s, z1])], weights=[0.5, 0.5])
    return b.build()


def broken_circuit() -> Circuit:
    """A product that is not decomposable (#4), a sum that is not smooth (#5), and an
    unnormalized root (#6)."""
    b = CircuitBuilder([BINARY, BINARY])
    a, a2, c = b.bernoulli(0, p=0.2), b.bernoulli(0, p=0.9), b.bernoulli(1, p=0.6)
    good = b.product([a, c])
    bad = b.product([a, a2, c])
    odd = b.sum([good, c], weights=[0.5, 0.5])
    b.sum([odd, good, bad], weights=[0.5, 0.25, 0.5])
    return b.build()


def region_circuit() -> Circuit:
    return build_circuit(quad_tree((2, 2)), 2)


def _plan(circuit: Circuit):  # type: ignore[no-untyped-def]
    from pcc.layering import layer

    return layer(circuit)


def check_golden(name: str, source: str) -> None:
    assert_golden(f"viz/{name}.dot", source)


CASES = {
    "nodes_mixed": lambda: nodes_view(mixed_circuit()),
    "nodes_broken_check": lambda: draw(broken_circuit(), "nodes", check=True),
    "nodes_digits3": lambda: nodes_view(mixed_circuit(), digits=3),
    "layers_mixed": lambda: draw(mixed_circuit(), "layers"),
    "layers_region": lambda: draw(region_circuit(), "layers"),
    "layers_broken_check": lambda: draw(broken_circuit(), "layers", check=True),
    "blocks_mixed": lambda: draw(mixed_circuit(), "blocks"),
    "blocks_broken_check": lambda: draw(broken_circuit(), "blocks", check=True),
    "blocks_deep_banded": lambda: blocks_view(_plan(deep_circuit()), max_boxes=5),
    "regions_quad_2x3": lambda: regions_view(quad_tree((2, 3))),
    "regions_rat_6": lambda: regions_view(random_binary_trees(6, 2, 2, seed=0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_dot(name: str) -> None:
    check_golden(name, CASES[name]().source)


def ragged_circuit() -> Circuit:
    """Sums of fan-in 1, 2, 4 and 8 on one depth: the layering puts them in separate blocks."""
    b = CircuitBuilder([BINARY] * 4)
    sums = []
    for v in range(4):
        leaves = [b.bernoulli(v, p=(k + 1) / 10) for k in range(2 ** v)]
        sums.append(b.sum(leaves, weights=np.full(2 ** v, 1 / 2 ** v)))
    b.sum([b.product(sums)], weights=[1.0])
    return b.build()


def test_blocks_merge_per_depth_and_op_when_there_are_many() -> None:
    from pcc.layering import layer

    plan = layer(ragged_circuit())
    depths_ops = {(int(b.depth), b.op) for b in plan.blocks}
    assert len(depths_ops) < len(plan.blocks)  # some (depth, op) has several blocks
    graph = blocks_view(plan, max_boxes=len(depths_ops))
    boxes = {line.split()[0] for line in graph.body if re.match(r"\s+d\d+_\w+ \[", line)}
    assert boxes == {f"d{d}_{op}" for d, op in depths_ops}
    check_golden("blocks_merged_ragged", graph.source)
    check_golden("blocks_ragged", blocks_view(plan).source)


def deep_circuit(depth: int = 30) -> Circuit:
    """A chain `depth` products deep, each mixing in a new variable, with sums of fan-in 1..3
    in between: many depths, a block or two per depth."""
    b = CircuitBuilder([BINARY] * (depth + 1))
    top = b.bernoulli(0, p=0.5)
    for v in range(1, depth + 1):
        fan = 1 + v % 3
        leaf = b.sum([b.bernoulli(v, p=(k + 1) / 5) for k in range(fan)], np.full(fan, 1 / fan))
        top = b.product([top, leaf])
    return b.build()


@pytest.mark.parametrize("max_boxes", [3, 5, 12])
def test_deep_plans_merge_into_bands_of_depths(max_boxes: int) -> None:
    from pcc.layering import layer
    from pcc.viz.blocks import make_boxes

    plan = layer(deep_circuit())
    boxes = make_boxes(plan, max_boxes)
    assert len(boxes) <= max_boxes
    owned = sorted(i for box in boxes for i in box.blocks)
    assert owned == list(range(len(plan.blocks)))  # every block in exactly one box
    assert boxes[0].name == "inputs" and {plan.blocks[i].op for i in boxes[0].blocks} == {"input"}
    bands = [(box.depth, box.last) for box in boxes[1:]]
    assert all(a[1] < b[0] for a, b in zip(bands, bands[1:]))  # disjoint, in order
    for box in boxes[1:]:
        assert all(box.depth <= plan.blocks[i].depth <= box.last for i in box.blocks)


def test_same_circuit_same_dot_every_time() -> None:
    """No ids from counters, no dict- or set-order leaks: two builds, identical text."""
    for view in ("nodes", "layers", "blocks"):
        assert draw(mixed_circuit(), view).source == draw(mixed_circuit(), view).source


def test_marks_name_node_and_edges_of_each_violation() -> None:
    from pcc.analysis import check

    circuit = broken_circuit()
    report = check(circuit, with_stats=False)
    source = nodes_view(circuit, Marks.from_report(report)).source
    for v in report.violations:
        node_line = next(line for line in source.splitlines()
                         if line.strip().startswith(f"n{v.node} ["))
        assert 'class=' in node_line and v.message.split(":")[0] in node_line
        for child in v.children:
            edge = next(line for line in source.splitlines()
                        if line.strip().startswith(f"n{v.node} -> n{child} "))
            assert "class=" in edge
    classes = {}
    for line in source.splitlines():
        head = line.strip().split(" [")[0]
        if "class=" in line:
            classes[head] = line.split("class=")[1].split()[0]
    assert classes == {"n4": "violation", "n5": "violation", "n6": "warning",
                       "n4 -> n0": "violation", "n4 -> n1": "violation",
                       "n5 -> n3": "violation", "n5 -> n2": "violation",
                       # the root's weights do not sum to one: its edges carry them
                       "n6 -> n5": "warning", "n6 -> n3": "warning", "n6 -> n4": "warning"}


def test_weights_are_rounded_on_sum_edges() -> None:
    b = CircuitBuilder([BINARY])
    b.sum([b.bernoulli(0, p=0.5), b.bernoulli(0, p=0.1)], weights=[1 / 3, 2 / 3])
    source = nodes_view(b.build()).source
    assert "label=0.33 " in source and "label=0.67 " in source
    assert "label=0.333" in nodes_view(b.build(), digits=3).source
    # a tiny weight keeps two significant digits instead of printing as 0
    b = CircuitBuilder([BINARY])
    b.sum([b.bernoulli(0, p=0.5), b.bernoulli(0, p=0.1)], weights=[1 - 2e-5, 2e-5])
    assert "label=\"2.0e-05\"" in nodes_view(b.build()).source


def test_shared_mixing_weights_label_once() -> None:
    b = CircuitBuilder([BINARY])
    x, y = b.bernoulli(0, p=[0.1, 0.2, 0.3]), b.bernoulli(0, p=[0.6, 0.7, 0.8])
    b.mixture([x, y], weights=[0.25, 0.75])  # the same two weights for each of 3 units
    source = nodes_view(b.build()).source
    assert "n2 -> n0 [label=0.25 " in source and "n2 -> n1 [label=0.75 " in source
    b = CircuitBuilder([BINARY])
    x, y = b.bernoulli(0, p=[0.1, 0.2]), b.bernoulli(0, p=[0.6, 0.7])
    b.mixture([x, y], weights=[[0.25, 0.75], [0.5, 0.5]])  # per-unit weights: the shape
    assert "n2 -> n0 [label=\"2x1\" " in nodes_view(b.build()).source


def test_scope_tooltip_lists_the_variables() -> None:
    source = nodes_view(region_circuit()).source
    root = len(region_circuit()) - 1
    line = next(x for x in source.splitlines() if x.strip().startswith(f"n{root} ["))
    assert "scope {0..3}" in line
    assert np.all([f"scope {{{v}}}" in source for v in range(4)])
