"""Identity groups share their child's columns: no op, same values, nothing lost on the way back."""

import numpy as np
import torch

from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.ir import BINARY, CircuitBuilder
from pcc.layering import layer, plan_problems


def chain_circuit(root_identity: bool = False):
    """x0 * x1 mixtures, reached through a chain of three identities, mixed with a real sum."""
    b = CircuitBuilder([BINARY, BINARY])
    left = b.product([b.bernoulli(0, p=[0.2, 0.7]), b.bernoulli(1, p=[0.4, 0.9])])
    # groups 3, 4, 5: a mixing sum of one child, a one-child product, a dense unit matrix
    step = b.sum([left], weights=np.ones((2, 1)), mode="mixing")
    step = b.product([step])
    step = b.sum([step], weights=np.eye(2))
    other = b.sum([left], weights=[[0.3, 0.7], [0.6, 0.4]])     # a real dense sum
    top = b.sum([step, other], weights=[[0.1, 0.2, 0.3, 0.4]])
    if root_identity:
        b.sum([top], weights=[1.0])
    return b.build()


def test_a_chain_of_identities_reads_the_first_real_group():
    circuit = chain_circuit()
    plan = layer(circuit)
    assert plan_problems(plan) == []
    aliases = np.concatenate([blk.aliases for blk in plan.blocks])
    assert sorted(aliases.tolist()) == [3, 4, 5]
    assert set(plan.offsets[[3, 4, 5]]) == {plan.offsets[2]}   # all share the product's columns
    assert not any(np.isin(blk.groups, aliases).any() for blk in plan.blocks)
    assert plan.num_columns == layer(circuit, alias=False).num_columns - 6


def test_a_sum_that_only_looks_like_an_identity_keeps_its_op():
    b = CircuitBuilder([BINARY])
    x = b.bernoulli(0, p=[0.2, 0.7])
    b.sum([b.sum([x], weights=[[0.0, 1.0], [1.0, 0.0]])], weights=[[0.5, 0.5]])  # a permutation
    plan = layer(b.build())
    assert sum(len(blk.aliases) for blk in plan.blocks) == 0


def test_the_root_keeps_its_own_columns():
    circuit = chain_circuit(root_identity=True)
    plan = layer(circuit)
    root = circuit.root.id
    assert root not in np.concatenate([blk.aliases for blk in plan.blocks])
    assert plan.blocks[-1].groups.tolist() == [root]


def test_aliased_circuits_evaluate_like_the_reference_and_round_trip():
    circuit = chain_circuit(root_identity=True)
    data = np.array([[0, 1], [1, 0], [np.nan, 1], [1, np.nan], [np.nan, np.nan]])
    model = compile(circuit, dtype=torch.float64)
    expected = log_likelihood(circuit, data)
    assert np.allclose(model(data).detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    back = model.to_circuit()
    for old, new in zip(circuit.groups, back.groups):
        if old.kind == "sum":
            assert np.allclose(old.weights, new.weights, rtol=1e-12)
    for g in (3, 5):
        assert np.array_equal(back.groups[g].weights, circuit.groups[g].weights)  # not zeros
    assert np.allclose(log_likelihood(back, data), expected, rtol=1e-12)


def test_an_alias_of_a_product_keeps_that_product_out_of_einsums():
    """Found by hypothesis: a dense sum over an identity over a Kronecker product would fuse
    the product and leave the identity without columns to read."""
    b = CircuitBuilder([BINARY, BINARY])
    left = b.sum([b.bernoulli(0, p=[0.5])], weights=[[1.0], [1.0]])
    right = b.bernoulli(1, p=[0.3])
    identity = b.sum([b.product([left, right], mode="kronecker")], weights=[[1.0], [1.0]],
                     mode="mixing")
    b.sum([identity], weights=[[0.5, 0.5]])
    circuit = b.build()
    plan = layer(circuit)
    assert plan_problems(plan) == []
    data = np.array([[0, 1], [1, 0], [np.nan, 1]])
    model = compile(circuit, dtype=torch.float64)
    assert np.allclose(model(data).detach().numpy(), log_likelihood(circuit, data), rtol=1e-12)
