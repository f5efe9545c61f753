"""Writing a picture: DOT text needs nothing; SVG, PNG and PDF run the graphviz `dot` program.

Errors a user can cause (an output name whose format `dot` cannot produce, a missing `dot`, an
unwritable path) raise `VizError` with a one-line message.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import graphviz

from pcc.ir import PccError

RENDERED = ("svg", "png", "pdf")
TEXT = ("dot", "gv")
FORMATS = RENDERED + TEXT
INSTALL_HINT = ("install the graphviz package (Debian/Ubuntu: apt-get install graphviz; "
                "macOS: brew install graphviz); DOT output (-o OUT.dot) works without it")


class VizError(PccError):
    """A picture cannot be drawn or written as asked."""


def dot_available() -> bool:
    """Whether the graphviz `dot` program is on PATH."""
    return shutil.which("dot") is not None


def output_format(path: str | Path) -> str:
    """The format named by `path`'s suffix; raises `VizError` for one `dot` cannot produce."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        shown = f".{suffix}" if suffix else "no suffix"
        raise VizError(f"{path}: cannot write a picture with {shown}; use .svg, .png, .pdf or "
                       ".dot")
    return suffix


def check_can_write(path: str | Path) -> str:
    """Fail early, before any work: the format is known, `dot` exists if needed, and the
    folder exists. Returns the format."""
    fmt = output_format(path)
    if fmt in RENDERED and not dot_available():
        raise VizError(f"cannot write {path}: the graphviz `dot` program is not installed; "
                       + INSTALL_HINT)
    folder = Path(path).parent
    if not folder.is_dir():
        raise VizError(f"cannot write {path}: folder {folder} does not exist")
    return fmt


def to_bytes(graph: graphviz.Digraph, fmt: str) -> bytes:
    """The picture in `fmt` ('dot'/'gv' give the DOT text itself)."""
    if fmt in TEXT:
        return graph.source.encode("utf-8")
    if not dot_available():
        raise VizError("the graphviz `dot` program is not installed; " + INSTALL_HINT)
    try:
        return graph.pipe(format=fmt, engine="dot", quiet=True)
    except graphviz.ExecutableNotFound:
        raise VizError("the graphviz `dot` program is not installed; " + INSTALL_HINT) from None
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise VizError(f"dot failed to produce {fmt}: "
                       f"{detail[-1] if detail else f'exit status {error.returncode}'}") from None


def write(graph: graphviz.Digraph, path: str | Path) -> str:
    """Write `graph` to `path` in the format of its suffix; returns that format."""
    fmt = check_can_write(path)
    data = to_bytes(graph, fmt)
    try:
        Path(path).write_bytes(data)
    except OSError as error:
        raise VizError(f"cannot write {path}: {error.strerror or error}") from None
    return fmt
