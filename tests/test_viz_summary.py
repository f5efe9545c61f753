"""The layers summary (`pcc.viz.summary`): the layers view of a circuit too large to draw group
by group. Golden DOT text of a generated PSDD-like circuit, and structural checks on it and on
random circuits: one `rank=same` row per depth, every block in one box, drawn edges only between
adjacent rows, and every group edge between boxes either drawn or counted as a skip edge."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given

from pcc.ir import BINARY, Circuit, CircuitBuilder
from pcc.layering import LayeredCircuit, layer
from pcc.viz import MAX_NODES, choose_view, draw, summary_view
from pcc.viz.marks import Marks
from pcc.viz.summary import box_edges, summary_boxes
from tests.strategies import circuits
from tests.test_viz_golden import broken_circuit, check_golden, ragged_circuit

EDGE = re.compile(r'^\t(\w+) -> (\w+) \[label="?([\d,]+)"? ')
ROW = re.compile(r"^\tsubgraph (row\d+) \{\n\t\trank=same\n((?:\t\t\w+\n)*)\t\}", re.M)
SKIP = re.compile(r"skip edges: ([\d,]+) to depths? (\d+)(?:\.\.(\d+))?")


def psdd_like(num_vars: int = 64, seed: int = 0) -> Circuit:
    """A PSDD-shaped circuit (one unit per group): leaf sums over two indicators, then a random
    unbalanced merge of scopes, each merge 1..3 products of alternatives under 1..2 sums of
    their own fan-in. Unbalanced merges give products that read far below (skip edges); the
    mixed fan-ins give several blocks per depth."""
    rng = np.random.default_rng(seed)
    b = CircuitBuilder([BINARY] * num_vars)
    pool: list[list[int]] = []
    for v in range(num_vars):
        one, zero = b.indicator(v, value=1), b.indicator(v, value=0)
        p = float(rng.uniform(0.1, 0.9))
        pool.append([b.sum([one, zero], weights=[p, 1 - p]) for _ in range(1 + v % 2)])
    while len(pool) > 1:
        i, j = sorted(rng.choice(len(pool), size=2, replace=False).tolist())
        right, left = pool.pop(j), pool.pop(i)
        products = [b.product([left[int(rng.integers(len(left)))],
                               right[int(rng.integers(len(right)))]])
                    for _ in range(int(rng.integers(1, 4)))]
        sums = []
        for _ in range(int(rng.integers(1, 3))):
            w = rng.uniform(0.1, 1.0, size=len(products))
            sums.append(b.sum(products, weights=w / w.sum()))
        pool.append(sums)
    root = pool[0]
    b.sum(root, weights=np.full(len(root), 1 / len(root)))
    return b.build()


def parse(graph_source: str) -> tuple[dict[str, list[str]], dict[tuple[str, str], int],
                                      dict[str, str]]:
    """Rows (rank=same subgraph name -> node names), drawn edges with their counts, labels."""
    rows: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    current = None
    for line in graph_source.splitlines():
        if m := re.match(r"^\t+subgraph (depth\d+) \{", line):
            current = m.group(1)
            rows[current] = []
        elif current and (m := re.match(r'^\t+(\w+) \[label="([^"]*)"', line)):
            rows[current].append(m.group(1))
            labels[m.group(1)] = m.group(2)
        elif re.match(r"^\t+\}$", line):
            current = None
    edges = {}
    for line in graph_source.splitlines():
        if (m := EDGE.match(line)):
            edges[(m.group(1), m.group(2))] = int(m.group(3).replace(",", ""))
    return rows, edges, labels


def check_structure(plan: LayeredCircuit, max_row: int = 8, max_rows: int = 40) -> None:
    source = summary_view(plan, max_row=max_row, max_rows=max_rows).source
    rows, drawn, labels = parse(source)
    boxes = summary_boxes(plan, max_row)
    depth_of = {box.name: box.depth for box in boxes}
    order = sorted(set(depth_of.values()))
    # at most `max_rows` rows: beyond, the depths wrap into balanced columns, each a cluster,
    # a row of the picture holding one depth of each column
    columns = -(-len(order) // max_rows)
    height = -(-len(order) // columns)
    assert height <= max_rows
    column_of = {d: r // height for r, d in enumerate(order)}
    if columns == 1:
        assert source.count("rank=same") == len(order) and "cluster" not in source
    else:
        assert source.count("subgraph cluster_column") == columns
        lines = {name: body.split() for name, body in ROW.findall(source)}
        assert len(lines) == height == source.count("rank=same")
        for r in range(height):
            line = [d for d in order if (height - 1 - order.index(d) % height) == r]
            assert lines[f"row{r}"] == [n for d in line for n in [f"depth{d}"] + rows[
                f"depth{d}"][1:]]
    # one row per depth, in order: its ruler first, then its boxes
    assert list(rows) == [f"depth{d}" for d in order]
    for d in order:
        assert rows[f"depth{d}"] == [f"depth{d}"] + [b.name for b in boxes if b.depth == d]
        ops = {b.op for b in plan.blocks if int(b.depth) == d}
        assert len(rows[f"depth{d}"]) - 1 <= max(max_row, len(ops))  # too many: one per op
    # every block in exactly one box, every group in exactly one box
    assert sorted(i for box in boxes for i in box.blocks) == list(range(len(plan.blocks)))
    assert sum(len(box.groups) for box in boxes) == len(plan.circuit)
    ruler = sum(int(labels[f"depth{d}"].split("\\n")[1].split()[0].replace(",", ""))
                for d in order)
    assert ruler == len(plan.circuit)
    # drawn edges only between adjacent rows; with the skip counts they add up to every edge
    row = {d: r for r, d in enumerate(order)}
    for parent, child in drawn:
        assert row[depth_of[parent]] == row[depth_of[child]] + 1, (parent, child)
        assert column_of[depth_of[parent]] == column_of[depth_of[child]]
    counted = box_edges(plan, boxes)
    skipped = {}
    for name, label in labels.items():
        if (m := SKIP.search(label)):
            skipped[name] = int(m.group(1).replace(",", ""))
    names = [box.name for box in boxes]
    for i, name in enumerate(names):
        mine = {names[c]: n for (p, c), n in counted.items() if p == i}
        assert sum(n for (p, _), n in drawn.items() if p == name) + skipped.get(name, 0) \
            == sum(mine.values())
        assert {c: n for (p, c), n in drawn.items() if p == name} == \
            {c: n for c, n in mine.items() if row[depth_of[c]] == row[boxes[i].depth] - 1
             and column_of[depth_of[c]] == column_of[boxes[i].depth]}


def test_golden_psdd_like() -> None:
    circuit = psdd_like()
    assert len(circuit) > MAX_NODES  # big enough that pcc viz picks this view by itself
    graph = draw(circuit)
    assert graph.name == "layers_summary"
    check_golden("summary_psdd_like", graph.source)


def test_golden_merged_rows_and_marks() -> None:
    """A row of more blocks than `max_row` merges per op; a checked box turns red."""
    check_golden("summary_ragged_merged", summary_view(layer(ragged_circuit()), max_row=1).source)
    from pcc.analysis import check

    plan = layer(broken_circuit())
    source = summary_view(plan, Marks.from_report(check(plan.circuit, with_stats=False))).source
    assert 'class=violation' in source
    check_golden("summary_broken_check", source)


def test_structure_of_the_psdd_like_plan() -> None:
    plan = layer(psdd_like())
    boxes = summary_boxes(plan)
    assert any(sum(box.depth == d for box in boxes) > 1 for d in {b.depth for b in boxes})
    assert "skip edges" in summary_view(plan).source  # the case this view is built for
    check_structure(plan)
    check_structure(plan, max_row=1)
    for max_rows in (5, 7, 22):  # columns of 5 (the last shorter), 6 and 12 rows
        check_structure(plan, max_rows=max_rows)


@given(circuits(max_vars=5, max_depth=5))
def test_structure_of_random_plans(circuit: Circuit) -> None:
    check_structure(layer(circuit))
    check_structure(layer(circuit), max_row=1, max_rows=3)


def test_chosen_for_big_circuits_and_deterministic() -> None:
    big = psdd_like(80, seed=1)
    assert choose_view(big, None) == ("layers_summary", None)
    assert choose_view(big, "layers")[0] == "layers_summary"
    assert choose_view(psdd_like(8), None) == ("nodes", None)
    assert choose_view(psdd_like(8), "layers") == ("layers", None)
    assert draw(big).source == draw(psdd_like(80, seed=1)).source


def test_a_large_plan_gives_a_small_picture() -> None:
    """25,000 groups, a few dozen depths: a few hundred boxes at most and DOT text that `dot`
    lays out in seconds, made in a time linear in the circuit (the real 153,021-group
    plants.psdd takes under a second; see tests/test_viz_render.py)."""
    import time

    circuit = psdd_like(4_000, seed=2)
    assert len(circuit) > 25_000
    plan = layer(circuit)
    start = time.perf_counter()
    graph = summary_view(plan)
    assert time.perf_counter() - start < 30  # about 0.5 s on an idle core
    depths = {int(b.depth) for b in plan.blocks}
    assert len(summary_boxes(plan)) <= 8 * len(depths) < 8 * 60
    assert len(graph.source) < 150_000


def test_kdd_psdd_renders_one_row_per_depth(shared_data) -> None:  # type: ignore[no-untyped-def]
    """The real 6,135-group kdd-6k.psdd through `dot`: every box and ruler drawn, no edge
    between rows that are not adjacent."""
    import pytest

    from pcc.io import load_circuit
    from pcc.viz import dot_available
    from pcc.viz.render import to_bytes

    path = shared_data / "circuits" / "psdd" / "kdd-6k.psdd"
    if not path.exists() or not dot_available():
        pytest.skip("needs kdd-6k.psdd and graphviz `dot`")
    plan = layer(load_circuit(path))
    check_structure(plan)
    svg = to_bytes(summary_view(plan), "svg").decode()
    depths = {int(b.depth) for b in plan.blocks}
    assert svg.count('class="node"') == len(summary_boxes(plan)) + len(depths)


def test_golden_deep_plan_wraps_into_columns() -> None:
    """32 depths, at most 12 rows: columns of 11, 11 and 10 rows, lowest depths on the left."""
    from tests.test_viz_golden import deep_circuit

    source = summary_view(layer(deep_circuit()), max_rows=12).source
    assert source.count("subgraph cluster_column") == 3 and "wrap into 3 columns" in source
    check_golden("summary_deep_columns", source)
