"""Torch habits hold for compiled circuits: dtype conversions, output dtypes that follow the
input's, and the README's Python blocks run as pasted, in order."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.backends.torch.mpe import mpe
from pcc.backends.torch.sample import sample
from pcc.regions import build_circuit, random_binary_trees
from tests.torch_helpers import CPU_ENGINES, assert_logs_close

README = Path(__file__).resolve().parents[1] / "README.md"


def _circuit():
    return build_circuit(random_binary_trees(6, depth=2, repetitions=2, seed=0), units=3)


@pytest.mark.parametrize("engine", CPU_ENGINES)
@pytest.mark.parametrize("convert", [lambda m: m.double(), lambda m: m.to(torch.float64)])
def test_a_model_converted_to_float64_computes_in_it(engine, convert):
    circuit = _circuit()
    x = np.random.default_rng(0).integers(0, 2, (40, 6)).astype(float)
    x[::3, 2] = np.nan
    model = compile(circuit, dtype=torch.float32, engine=engine)
    with torch.no_grad():
        model(x)  # caches made for float32 must not survive the conversion
    model = convert(model)
    assert model.dtype == torch.float64
    ll = model(x)
    assert ll.dtype == torch.float64
    # its parameters are the float32 ones, widened: the reference of those
    assert_logs_close(ll, log_likelihood(model.to_circuit(), x), 1e-9)
    ll.sum().backward()  # and trains in it
    assert all(p.grad.dtype == torch.float64 for p in model.parameters() if p.grad is not None)
    assert model.float()(x).dtype == torch.float32


def test_a_dtype_pcc_does_not_compute_in_is_one_clear_error():
    with pytest.raises(ValueError, match="pcc computes in torch.float32 or torch.float64, not "
                                         "torch.float16"):
        compile(_circuit()).half()


@pytest.mark.parametrize("engine", CPU_ENGINES)
def test_states_and_samples_follow_the_data_dtype(engine):
    model = compile(_circuit(), dtype=torch.float32, engine=engine)
    rows = torch.tensor([[0.0, float("nan"), 1.0, 0.0, float("nan"), 1.0]])
    result = mpe(model, rows)
    assert result.states.dtype == torch.float32 and result.values.dtype == torch.float32
    assert mpe(model, rows.double()).states.dtype == torch.float64
    assert mpe(model, rows.numpy().tolist()).states.dtype == torch.float64
    assert sample(model, rows, generator=0).dtype == torch.float32
    assert sample(model, num_samples=3, generator=0).dtype == torch.float64


def test_the_readme_python_blocks_run_in_order(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile_block(block, i), namespace)  # noqa: S102 - the README's own code
        except Exception as error:  # name the block that fails
            raise AssertionError(f"README python block {i + 1} fails: {error!r}\n{block}")


def compile_block(block: str, i: int):
    import builtins

    return builtins.compile(block, f"README.md python block {i + 1}", "exec")
