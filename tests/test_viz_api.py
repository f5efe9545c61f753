"""The Python API of `pcc.viz`: choosing a view, switching to the layers summary for large
circuits, errors,
writing files, and the Jupyter hook of the returned `graphviz.Digraph`."""

from __future__ import annotations

import warnings
from pathlib import Path

import graphviz
import pytest

from pcc.ir import BINARY, Circuit, CircuitBuilder
from pcc.regions import build_circuit, poon_domingos, quad_tree
from pcc.viz import (MAX_NODES, TooLargeError, VizError, choose_view, dot_available, draw,
                     layers_view, nodes_view, regions_view, write)
from tests.test_viz_golden import broken_circuit, mixed_circuit


@pytest.fixture(scope="module")
def large() -> Circuit:
    circuit = build_circuit(quad_tree((16, 16)), 2)
    assert len(circuit) > MAX_NODES
    return circuit


def test_default_view_by_size(large: Circuit) -> None:
    assert choose_view(mixed_circuit(), None) == ("nodes", None)
    assert choose_view(large, None) == ("layers_summary", None)
    assert choose_view(large, "blocks") == ("blocks", None)
    view, note = choose_view(large, "layers")
    assert view == "layers_summary"
    assert note == (f"the circuit has {len(large)} groups, too many for the layers view (at most "
                    "400); drawing one box per block in each layer instead")


def test_a_large_circuit_switches_to_the_layers_summary_with_a_warning(large: Circuit) -> None:
    for view in ("nodes", "layers"):
        with pytest.warns(UserWarning, match=f"has {len(large)} groups, too many for the {view}"):
            graph = draw(large, view)
        assert isinstance(graph, graphviz.Digraph) and graph.name == "layers_summary"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert draw(large).name == "layers_summary"  # asked for nothing: no warning
        assert draw(large, "blocks").name == "blocks"  # still there when asked for


def test_views_refuse_what_they_cannot_draw_readably(large: Circuit) -> None:
    from pcc.layering import layer

    with pytest.raises(TooLargeError, match="use the blocks view"):
        nodes_view(large)
    with pytest.raises(TooLargeError):
        layers_view(layer(large))
    with pytest.raises(TooLargeError, match="225 regions and 600 partitions"):
        regions_view(poon_domingos((5, 5), 1))
    assert regions_view(poon_domingos((5, 5), 1), max_nodes=1000).name == "regions"


def test_many_edges_also_switch_to_the_layers_summary() -> None:
    """70 groups but 1000 edges: `dot` would take long, and the picture is a hairball."""
    b = CircuitBuilder([BINARY])
    leaves = [b.bernoulli(0, p=(k + 1) / 52) for k in range(50)]
    sums = [b.sum(leaves, weights=[1 / 50] * 50) for _ in range(20)]
    b.sum(sums, weights=[1 / 20] * 20)
    circuit = b.build()
    view, note = choose_view(circuit, "nodes")
    assert view == "layers_summary"
    assert note == ("the circuit has 1020 edges, too many for the nodes view (at most 800); "
                    "drawing one box per block in each layer instead")
    with pytest.raises(TooLargeError, match="1020 edges"):
        nodes_view(circuit)
    assert choose_view(circuit, "nodes", max_edges=2000) == ("nodes", None)


def test_unknown_view() -> None:
    with pytest.raises(VizError, match="unknown view 'regions' for a circuit"):
        draw(mixed_circuit(), "regions")


def test_check_true_runs_the_analyses_and_equals_passing_the_report() -> None:
    from pcc.analysis import check

    circuit = broken_circuit()
    report = check(circuit, with_stats=False)
    for view in ("nodes", "layers", "blocks"):
        assert draw(circuit, view, check=True).source == draw(circuit, view, check=report).source
        assert "violation" not in draw(circuit, view).source


def test_one_group_circuit() -> None:
    b = CircuitBuilder([BINARY])
    b.bernoulli(0, p=0.3)
    circuit = b.build()
    assert "\tn0 [label=\"bernoulli\\nx0\"" in draw(circuit, "nodes").source
    layers = draw(circuit, "layers").source
    assert "subgraph cluster_layer0" in layers and "subgraph cluster_block0" in layers
    assert "\t\t\tn0 [" in layers and "->" not in layers
    assert "\t\tb0 [label=\"block 0  depth 0\\ninput bernoulli" in draw(circuit, "blocks").source


def test_write_dot_needs_no_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not dot_available()
    graph = draw(mixed_circuit())
    assert write(graph, tmp_path / "c.gv") == "gv"
    assert (tmp_path / "c.gv").read_text() == graph.source
    with pytest.raises(VizError, match="`dot` program is not installed"):
        write(graph, tmp_path / "c.png")


@pytest.mark.skipif(not dot_available(), reason="graphviz `dot` is not installed")
def test_jupyter_renders_the_graph_inline() -> None:
    bundle = draw(mixed_circuit(), "layers")._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
