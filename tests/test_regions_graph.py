"""Region graph IR: validation of bad graphs (every message names the region), text, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pcc.ir import FormatError
from pcc.regions import (InvalidRegionGraphError, RegionGraph, chow_liu_tree, hclt, linear_chain,
                         poon_domingos, quad_tree, random_binary_trees)


def _problems(num_vars, regions, partitions) -> list[str]:
    with pytest.raises(InvalidRegionGraphError) as info:
        RegionGraph(num_vars, regions, partitions)
    return info.value.problems


def test_valid_graph_and_text():
    g = RegionGraph(3, [[0], [1], [2], [1, 2], [0, 1, 2]], [(3, [1, 2]), (4, [0, 3])])
    assert g.root == 4 and g.depth == 2 and g.leaves == (0, 1, 2)
    assert repr(g) == ("region graph over 3 variables: 5 regions, 2 partitions, depth 2, root #4\n"
                       "  #0 {0}\n  #1 {1}\n  #2 {2}\n  #3 {1,2} = #1 * #2\n"
                       "  #4 {0..2} = #0 * #3")


def test_overlapping_children_named():
    found = _problems(3, [[0, 1], [1, 2], [0, 1, 2]], [(2, [0, 1])])
    assert found == ["region #2 {0..2}: children #0 and #1 both contain x1"]


def test_children_not_covering_named():
    found = _problems(3, [[0], [1], [0, 1, 2]], [(2, [0, 1])])
    assert found == ["region #2 {0..2}: children #0, #1 do not cover {2}"]


def test_child_outside_region_named():
    found = _problems(2, [[0], [1], [2], [0, 1]], [(3, [0, 1, 2])])
    assert "region #2 has variable x2 outside 0..1" in found
    assert any("child #2 contains x2, which is not in the region" in p for p in found)


def test_single_child_missing_child_and_bad_parent():
    assert _problems(1, [[0], [0]], [(1, [0])]) == [
        "region #1 {0}: a partition needs at least two children, got [0]"]
    assert _problems(2, [[0], [0, 1]], [(1, [0, 5])]) == [
        "region #1 {0,1}: partition child #5 does not exist"]
    assert _problems(1, [[0]], [(3, [0, 0])]) == [
        "a partition refers to region #3, which does not exist"]


def test_roots_and_empty():
    assert _problems(2, [[0], [1]], []) == [
        "a region graph needs exactly one root (a region in no partition), got #0, #1"]
    assert _problems(3, [[0], [1], [0, 1]], [(2, [0, 1])]) == [
        "root #2 has scope {0,1}, expected all 3 variables"]
    assert _problems(1, [], []) == ["a region graph needs at least one region"]
    assert "region #0 is empty" in _problems(1, [[], [0]], [])


def test_json_round_trip(tmp_path):
    g = random_binary_trees(10, 3, 2, seed=4)
    path = tmp_path / "g.json"
    g.save(path)
    h = RegionGraph.load(path)
    assert h.regions == g.regions and h.partitions == g.partitions and repr(h) == repr(g)


def test_json_errors(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"format": "pcc-regions",\n "version": }')
    with pytest.raises(FormatError, match=r"bad.json:2:13"):
        RegionGraph.load(path)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(FormatError, match="not a region graph"):
        RegionGraph.load(path)
    path.write_text(json.dumps({"format": "pcc-regions", "version": 1, "num_vars": 2,
                                "regions": [[0], [1]], "partitions": []}))
    with pytest.raises(InvalidRegionGraphError, match="exactly one root"):
        RegionGraph.load(path)


def test_rat_shape_and_seed():
    g = random_binary_trees(16, 3, 4, seed=0)
    assert len(g.partitions_of[g.root]) == 4 and g.depth == 3
    assert len(g.leaves) == 4 * 8 and all(len(g.regions[r]) == 2 for r in g.leaves)
    assert random_binary_trees(16, 3, 4, seed=0).regions == g.regions
    assert random_binary_trees(16, 3, 4, seed=1).regions != g.regions


def test_poon_domingos_counts():
    g = poon_domingos((28, 28), 7)
    # boxes aligned to a 4 x 4 grid of cells: 10 row ranges x 10 column ranges
    assert len(g.regions) == 100 and len(g.leaves) == 16
    assert all(len(g.regions[r]) == 49 for r in g.leaves)
    several = poon_domingos((12, 12), [6, 4])
    # the root is cut at 6 only (the coarse grid); its halves at 4 or 8 (the fine grid), so the
    # cells along each axis are [0,4) [4,6) [6,8) [8,12)
    assert len(several.partitions_of[several.root]) == 2
    assert len(several.leaves) == 16
    assert sorted({len(several.regions[r]) for r in several.leaves}) == [4, 8, 16]
    # non-integer deltas as in EiNets (28 / 3 pieces): cuts at ceil(i * delta)
    assert len(poon_domingos((28, 28), 28 / 3).leaves) == 9
    shallow = poon_domingos((8, 8), 2, max_split_depth=1)
    assert shallow.depth == 1
    colour = poon_domingos((4, 4, 3), 2)
    assert all(len(colour.regions[r]) == 12 for r in colour.leaves)


def test_quad_tree_splits():
    four = quad_tree((4, 4), 4)
    assert len(four.partitions[four.partitions_of[four.root][0]].children) == 4
    two = quad_tree((4, 4), 2)
    assert all(len(p.children) == 2 for p in two.partitions)
    assert len(two.leaves) == 16 and two.depth == 4


def test_chain_and_hclt():
    chain = linear_chain(5, order=[4, 3, 2, 1, 0])
    assert chain.depth == 4 and len(chain.regions) == 9
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 2000)
    b = np.where(rng.random(2000) < 0.95, a, 1 - a)
    c = np.where(rng.random(2000) < 0.9, b, 1 - b)
    # a chain x0 - x1 - x2 of noisy copies and an independent x3
    data = np.stack([a, b, c, rng.integers(0, 2, 2000)], 1)
    tree = chow_liu_tree(data)
    assert {frozenset(e) for e in tree.edges} >= {frozenset((0, 1)), frozenset((1, 2))}
    g = hclt(data)
    assert g.regions[g.root] == (0, 1, 2, 3) and len(g.leaves) == 4
    # every tree node with children has one partition: {x_i} and its children's subtrees
    for p in g.partitions:
        head = g.regions[p.children[0]]
        assert len(head) == 1 and head[0] == min(set(g.regions[p.region]) - set(
            v for c in p.children[1:] for v in g.regions[c]))


def test_a_binary_file_is_a_format_error_not_a_decode_error(tmp_path):
    path = tmp_path / "graph.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(FormatError, match="graph.json: not a text file"):
        RegionGraph.load(path)
