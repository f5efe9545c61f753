"""Paths and loaders for the shared circuit files and data sets that the frontend tests read."""

from __future__ import annotations

import gzip
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

# ../shared/data beside the checkout, or PCC_SHARED_DATA (a copy carried to a GPU machine)
SHARED = Path(os.environ.get("PCC_SHARED_DATA") or
              Path(__file__).resolve().parents[2] / "shared" / "data")
CIRCUITS = SHARED / "circuits"
TWENTY = SHARED / "twenty"


def need_shared() -> None:
    if not CIRCUITS.is_dir():
        pytest.skip("../shared/data is absent")


def circuit_path(relative: str) -> Path:
    need_shared()
    return CIRCUITS / relative


@lru_cache(maxsize=None)
def twenty(name: str, split: str = "test") -> np.ndarray:
    """A twenty-datasets split as a float matrix (read with pcc's own data reader)."""
    from pcc.data import read_data

    need_shared()
    return read_data(TWENTY / name / f"{name}.{split}.data.gz").values


@lru_cache(maxsize=None)
def mnist_test(rows: int) -> np.ndarray:
    """The first `rows` MNIST test images binarized as pixel/255 > 0.5, row-major."""
    need_shared()
    with gzip.open(SHARED / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        raw = f.read(16 + rows * 784)
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(rows, 784)
    return (pixels / 255 > 0.5).astype(np.float64)


def batched_ll(circuit: object, data: np.ndarray) -> np.ndarray:
    """Reference log-likelihoods in memory-bounded batches."""
    from pcc.backends.batched import Backend, log_likelihoods

    return log_likelihoods(circuit, data, Backend("reference"))  # type: ignore[arg-type]


@lru_cache(maxsize=4)
def cached_load(path: str, vtree: str | None = None) -> object:
    """`load_circuit` of a shared file, cached: big circuits are read once per test session."""
    from pcc.io import load_circuit

    return load_circuit(circuit_path(path), **({"vtree": circuit_path(vtree)} if vtree else {}))
