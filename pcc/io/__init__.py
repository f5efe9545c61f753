"""Reading and writing circuit files: the `.pcc` format and a table of every format pcc knows."""

from pcc.io.formats import FORMATS, load_circuit, save_circuit
from pcc.io.pcc_file import load_pcc, save_pcc

__all__ = ["FORMATS", "load_circuit", "load_pcc", "save_circuit", "save_pcc"]
