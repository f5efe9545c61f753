"""The readers and writers `pcc.io.formats.FORMATS` lists, and the sniffers that tell the three
`.spn` formats apart (a Libra model directory, PC.jl's dialect, SPFlow text)."""

from __future__ import annotations

from pathlib import Path

from pcc.frontends._text import head_text
from pcc.frontends.jpc import load_jpc
from pcc.frontends.jpc_writer import save_jpc
from pcc.frontends.libra_ac import load_libra_ac
from pcc.frontends.libra_spn import load_libra_spn
from pcc.frontends.pcjl_spn import load_pcjl_spn
from pcc.frontends.psdd import load_psdd
from pcc.frontends.psdd_writer import save_psdd
from pcc.frontends.spflow_text import load_spflow_text
from pcc.frontends.spflow_writer import save_spflow_equation, save_spflow_text

__all__ = ["is_libra_spn", "is_pcjl_spn", "load_jpc", "load_libra_ac", "load_libra_spn",
           "load_pcjl_spn", "load_psdd", "load_spflow_text", "save_jpc", "save_psdd",
           "save_spflow_equation", "save_spflow_text"]


def is_libra_spn(path: Path) -> bool:
    """A directory (Libra's .spn models are folders holding spac.m)."""
    return path.is_dir()


def is_pcjl_spn(path: Path) -> bool:
    """A file whose first line is a domain header such as `(2 2 2)`."""
    if path.is_dir():
        return False
    head = head_text(path, 1 << 16)
    if head is None:
        return False
    first = head.split("\n", 1)[0].strip()
    inner = first[1:-1].split()
    return first.startswith("(") and first.endswith(")") and all(t.isdigit() for t in inner)
