"""The structure policy of `pcc train` (pcc.regions.policy): leaves and domains from the data,
the region graph from the spec, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from pcc.ir import BINARY, DataError, categorical
from pcc.regions import STRUCTURES, StructureSpec, circuit_for_data
from pcc.regions.policy import leaves_for_data


def test_leaves_and_domains_follow_the_data():
    binary = np.array([[0, 1, np.nan], [1, 0, 1]], dtype=float)
    assert leaves_for_data(binary) == ("bernoulli", [BINARY] * 3)
    pixels = np.array([[0, 255], [17, 3]], dtype=float)
    assert leaves_for_data(pixels) == ("binomial", [categorical(256)] * 2)
    assert leaves_for_data(pixels, "categorical")[0] == "categorical"
    assert leaves_for_data(np.array([[0.5, -1.0]])) == ("gaussian", None)
    with pytest.raises(DataError, match="bernoulli leaves need 0/1 data, the training data "
                                        "reach 255"):
        leaves_for_data(pixels, "bernoulli")


@pytest.mark.parametrize("structure", STRUCTURES)
def test_every_structure_builds_a_circuit_over_the_data(structure):
    data = (np.random.default_rng(0).random((50, 16)) < 0.5).astype(float)
    spec = StructureSpec(structure, units=2, deltas=(2,), seed=1)
    circuit = circuit_for_data(spec, data, shape=(4, 4))
    assert circuit.num_vars == 16 and all(d == BINARY for d in circuit.domains)
    assert str(circuit_for_data(spec, data, shape=(4, 4))) == str(circuit)  # seeded


def test_image_structures_need_a_shape_and_unknown_structures_are_refused():
    data = np.zeros((5, 6))
    with pytest.raises(DataError, match="--structure pd needs an image shape with 6 pixels"):
        circuit_for_data(StructureSpec("pd", units=2), data)
    assert circuit_for_data(StructureSpec("qt", units=2, shape=(2, 3)), data).num_vars == 6
    with pytest.raises(ValueError, match="structure must be one of"):
        StructureSpec("tree", units=2)


def test_the_cli_offers_every_structure_of_the_policy():
    from pcc.cli import train

    assert train.STRUCTURES == STRUCTURES
