"""Data: reading data files and checking data against a circuit's variables (NaN = missing).

- `read_data(path, split)`: any data file or folder pcc reads, as a `DataFile` (`read`);
- `read_table`: comma-separated / `.npy` tables (`table`); `read_idx`, `load_mnist`: IDX (`idx`);
- `check_data` (a matrix: DataError naming row and column), `check_columns` (a data file:
  FormatError naming `file:line:col`), `first_outside` (`check`);
- `binarize`, `hold_out`, `unweighted`: preparing training rows (`read`);
- `pcc.data.tensors`: the same domain checks on torch tensors, for the torch backend (imported
  from there only, so that reading data does not import torch).
"""

from pcc.data.check import check_columns, check_data, first_outside
from pcc.data.datafile import DataFile
from pcc.data.idx import load_mnist, read_idx
from pcc.data.read import binarize, hold_out, read_data, unweighted
from pcc.data.table import read_table

__all__ = ["DataFile", "binarize", "check_columns", "check_data", "first_outside", "hold_out",
           "load_mnist", "read_data", "read_idx", "read_table", "unweighted"]
