"""DomainTable.prepare (the torch backend's data check) agrees with the exact numpy check
`check_data`: the same rows accepted, the same one-line DataError for the rest, whatever the
input type."""

import numpy as np
import pytest
import torch

from pcc.data import check_data
from pcc.data.tensors import DomainTable
from pcc.ir import BINARY, COUNT, REAL, DataError, categorical

DOMAINS = [BINARY, categorical(5), REAL, COUNT]
CPU = torch.device("cpu")


def _message(call):
    try:
        call()
    except DataError as error:
        return str(error)
    return None


@pytest.mark.parametrize("rows", [
    [[0, 4, -2.5, 7]], [[1, 0, np.nan, np.nan]], [[np.nan] * 4, [1, 2, 3.5, 0]],
    [[2, 0, 0, 0]], [[0, 5, 0, 0]], [[0, -0.5, 0, 0]], [[0, 1.5, 0, 0]], [[0, 0, np.inf, 0]],
    [[0, 0, -np.inf, 0]], [[0, 0, 0, np.inf]], [[0, 0, 0, -1]], [[0, 0, 0, 3.25]],
    [[1, 4, 1e300, 1e300]], [[0, 1, 2], [0, 1, 2]], [0, 1, 2.0, 3],
])
@pytest.mark.parametrize("kind", ["list", "numpy", "torch64", "torch32"])
def test_prepare_accepts_and_refuses_what_check_data_does(rows, kind):
    a = np.asarray(rows, dtype=np.float64)
    data = {"list": rows, "numpy": a, "torch64": torch.tensor(a),
            "torch32": torch.tensor(a).float()}[kind]
    if kind == "torch32":
        with np.errstate(over="ignore"):  # 1e300 is inf in float32, and check_data says so
            a = a.astype(np.float32).astype(np.float64)
    want = _message(lambda: check_data(a, DOMAINS))
    table = DomainTable(DOMAINS)
    assert _message(lambda: table.prepare(data, None, CPU)) == want
    if want is None:
        x, missing = table.prepare(data, None, CPU)
        expect = a.reshape(-1, len(DOMAINS))
        assert x.dtype == torch.float64 and missing.dtype == torch.bool
        assert missing.numpy().tolist() == np.isnan(expect).tolist()
        assert x.numpy().tolist() == np.nan_to_num(expect, nan=0.0).tolist()


def test_integer_and_boolean_rows_and_masks():
    table = DomainTable([BINARY, categorical(3)])
    x, missing = table.prepare(np.array([[1, 2], [0, 0]], dtype=np.int8), [True, False], CPU)
    assert x.tolist() == [[0.0, 2.0], [0.0, 0.0]] and missing.tolist() == [[True, False]] * 2
    with pytest.raises(DataError, match=r"row 1, column 1 \(x1\): value 3.0 is outside"):
        table.prepare(np.array([[1, 2], [0, 3]]), None, CPU)
    x, missing = table.prepare(np.array([[True, False]]), torch.tensor([[False, True]]), CPU)
    assert x.tolist() == [[1.0, 0.0]] and missing.tolist() == [[False, True]]
    with pytest.raises(DataError, match=r"mask must have shape \(2,\) or \(1, 2\), got \(3,\)"):
        table.prepare([[0, 1]], [True, True, False], CPU)


def test_prepare_does_not_write_into_the_callers_rows():
    rows = np.array([[np.nan, 1.0], [1.0, 2.0]])
    DomainTable([BINARY, categorical(3)]).prepare(rows, [[False, True], [True, False]], CPU)
    assert np.isnan(rows[0, 0]) and rows[1].tolist() == [1.0, 2.0]
