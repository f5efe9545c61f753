"""The pass with autograd writes the leaf rows into the activation buffer in place, as a pass
without it does, and keeps no (leaf units, batch) tensor for the backward: the leaves'
parameter gradients are made there from the leaf rows' gradient (`Family.parameter_grads`,
by the value table or, for Gaussians, in closed form a slice of rows at a time)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

import pcc.backends.torch.families.gaussian as gaussian
from pcc.backends.torch import compile
from pcc.backends.native.library import kernel
from tests.test_torch_backward_memory import rat, rat_data, reference_gradients_agree

ROOT = Path(__file__).resolve().parents[1]
needs_kernel = pytest.mark.skipif(kernel() is None, reason="no C compiler: torch ops run instead")


class FreshTensors(TorchDispatchMode):
    """Records the size of every tensor an op returns in memory of its own (not a view of an
    input, nor an input written in place or through out=)."""

    def __init__(self) -> None:
        super().__init__()
        self.numels: list[int] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in pytree.tree_leaves((args, kwargs))
                  if isinstance(t, torch.Tensor)}
        self.numels += [t.numel() for t in pytree.tree_leaves(out)
                        if isinstance(t, torch.Tensor)
                        and t.untyped_storage().data_ptr() not in inputs]
        return out


@needs_kernel
@pytest.mark.parametrize("leaf", ["bernoulli", "gaussian"])
def test_the_autograd_pass_makes_one_tensor_as_large_as_the_leaf_rows(leaf):
    model = compile(rat(leaf=leaf), dtype=torch.float64)
    x = rat_data(leaf, rows=64)
    with FreshTensors() as fresh:
        ll = model(x)
    assert ll.requires_grad
    # the activation buffer; the leaves' own (units, batch) values (and a Gaussian's z) were
    # a second and third one
    assert sum(n >= model.program.num_leaves * 64 for n in fresh.numels) == 1
    ll.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("leaf", ["bernoulli", "gaussian"])
def test_leaf_gradients_from_the_backward_match_the_reference(leaf, monkeypatch):
    # one leaf row per slice of the Gaussian's closed form; missing entries pass no gradient
    monkeypatch.setattr(gaussian, "GRADIENT_ELEMENTS", 1)
    x = rat_data(leaf, rows=6)
    x[np.arange(6), np.arange(6)] = np.nan
    model = compile(rat(leaf=leaf), dtype=torch.float64)
    assert reference_gradients_agree(model, x, entries=6) > 0


def test_only_the_parameters_that_require_grad_get_one():
    model = compile(rat(leaf="gaussian"), dtype=torch.float64)
    family = model.family_list[0]
    family.mean.requires_grad_(False)
    model(rat_data("gaussian")).sum().backward()
    assert family.mean.grad is None and family.log_std.grad is not None
    model.zero_grad(set_to_none=True)
    for p in model.parameters():
        p.requires_grad_(False)
    family.mean.requires_grad_(True)   # the leaves' parameters alone
    model(rat_data("gaussian")).sum().backward()
    assert family.mean.grad is not None and family.log_std.grad is None


def test_a_backward_imports_no_sympy():
    # torch.autograd.grad with grad_outputs checks their shapes through sympy, imported on
    # first use and resident from then on (12 MB): the backward passes take the gradient of
    # a scalar instead (`params.vjp`); a fresh interpreter, since other tests may import it
    code = """if True:
        import sys, numpy as np, torch
        from pcc.backends.torch import compile
        from tests.test_torch_backward_memory import rat, rat_data
        for leaf in ("bernoulli", "gaussian"):
            compile(rat(leaf=leaf), dtype=torch.float64)(rat_data(leaf)).sum().backward()
        print("sympy" in sys.modules)"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"
