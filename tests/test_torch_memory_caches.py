"""What passes without autograd keep between calls (the reused activation buffer, the cached
log-weights and the parameter copy that validates them, each as large as the buffer or the
weights) is dropped by a pass with autograd, and made again, right, by the next pass without."""

import numpy as np
import torch

from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.learn import EM
from tests.test_torch_backward_memory import rat, rat_data


def kept(model) -> list[object]:
    return [model.program.scratch.buffer, model._weights, model._snapshot]


def test_a_pass_with_autograd_drops_the_caches_of_passes_without():
    model = compile(rat(), dtype=torch.float64)
    x = rat_data("bernoulli", rows=8)
    with torch.no_grad():
        model(x)
    assert all(k is not None for k in kept(model))
    model(x).sum().backward()
    assert all(k is None for k in kept(model))
    with torch.no_grad():
        model(x)
    EM(model).accumulate(torch.as_tensor(x))   # the E-step's pass too
    assert all(k is None for k in kept(model))


def test_the_next_pass_without_autograd_reads_the_new_parameters():
    model = compile(rat(), dtype=torch.float64)
    x = rat_data("bernoulli", rows=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        with torch.no_grad():
            before = model(x).numpy()
        np.testing.assert_allclose(before, log_likelihood(model.to_circuit(), x), rtol=1e-9)
        optimizer.zero_grad()
        (-model(x).sum()).backward()
        optimizer.step()
    with torch.no_grad():
        after = model(x).numpy()
    np.testing.assert_allclose(after, log_likelihood(model.to_circuit(), x), rtol=1e-9)
    assert not np.allclose(before, after)
