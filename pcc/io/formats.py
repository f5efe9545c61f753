"""Every circuit file format pcc reads or writes, chosen by `--format` or by the file's name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pcc.frontends.table as fe
from pcc.io.pcc_file import load_pcc, save_pcc
from pcc.ir import Circuit, FormatError


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: tuple[str, ...]
    load: Callable[..., Circuit] | None
    save: Callable[..., None] | None
    # for a suffix several formats share (.spn): does this file look like this format?
    sniff: Callable[[Path], bool] | None = None


FORMATS: dict[str, Format] = {
    f.name: f for f in (
        Format("pcc", (".pcc",), load_pcc, save_pcc),
        Format("psdd", (".psdd", ".psdd.gz"), fe.load_psdd, fe.save_psdd),
        Format("jpc", (".jpc", ".jpc.gz"), fe.load_jpc, fe.save_jpc),
        Format("libra_ac", (".ac", ".ac.gz"), fe.load_libra_ac, None),
        Format("libra_spn", (".spn",), fe.load_libra_spn, None, fe.is_libra_spn),
        Format("pcjl_spn", (".spn", ".spn.gz"), fe.load_pcjl_spn, None, fe.is_pcjl_spn),
        Format("spflow", (".spn", ".spflow"), fe.load_spflow_text, fe.save_spflow_text),
        Format("spflow_eq", (), fe.load_spflow_text, fe.save_spflow_equation),
    )
}


def detect_format(path: str | Path) -> Format:
    """The format whose suffix `path` ends with (a trailing .gz is allowed where readers say)."""
    name = str(path).lower()
    for fmt in FORMATS.values():
        if any(name.endswith(s) for s in fmt.suffixes) and (fmt.sniff is None
                                                             or fmt.sniff(Path(path))):
            return fmt
    known = ", ".join(f"{f.name} ({' '.join(f.suffixes)})" for f in FORMATS.values())
    raise FormatError(f"cannot tell the format from the file name; use --format ({known})",
                      str(path))


def _choose(path: str | Path, format: str | None) -> Format:
    if format is None:
        return detect_format(path)
    if format not in FORMATS:
        raise FormatError(f"unknown format {format!r}; known: {', '.join(FORMATS)}", str(path))
    return FORMATS[format]


def load_circuit(path: str | Path, format: str | None = None, **options: object) -> Circuit:
    """Read a circuit from `path` in `format` (default: detected from the file name)."""
    fmt = _choose(path, format)
    if fmt.load is None:
        raise FormatError(f"pcc cannot read the {fmt.name} format", str(path))
    if not Path(path).exists():
        raise FormatError("no such file", str(path))
    return fmt.load(path, **options)


def save_circuit(circuit: Circuit, path: str | Path, format: str | None = None,
                 **options: object) -> None:
    """Write `circuit` to `path` in `format` (default: detected from the file name)."""
    fmt = _choose(path, format)
    if fmt.save is None:
        raise FormatError(f"pcc cannot write the {fmt.name} format", str(path))
    fmt.save(circuit, Path(path), **options)
