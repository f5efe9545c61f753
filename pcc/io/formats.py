"""Every circuit file format pcc reads or writes, chosen by `--format`, the file's name, or (for
`.txt` and unknown extensions) the file's content: `choose_format`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pcc.frontends.table as fe
from pcc.frontends.sniff import sniff
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
    # the writer holds one-unit groups only (`pcc convert` scalarizes for it)
    one_unit: bool = False


FORMATS: dict[str, Format] = {
    f.name: f for f in (
        Format("pcc", (".pcc",), load_pcc, save_pcc),
        Format("psdd", (".psdd", ".psdd.gz"), fe.load_psdd, fe.save_psdd, one_unit=True),
        Format("jpc", (".jpc", ".jpc.gz"), fe.load_jpc, fe.save_jpc, one_unit=True),
        Format("libra_ac", (".ac", ".ac.gz"), fe.load_libra_ac, None),
        Format("libra_spn", (".spn",), fe.load_libra_spn, None, fe.is_libra_spn),
        Format("pcjl_spn", (".spn", ".spn.gz"), fe.load_pcjl_spn, None, fe.is_pcjl_spn),
        Format("spflow", (".spn", ".spflow"), fe.load_spflow_text, fe.save_spflow_text,
               one_unit=True),
        Format("spflow_eq", (), fe.load_spflow_text, fe.save_spflow_equation, one_unit=True),
    )
}


def detect_format(path: str | Path) -> Format:
    """The format whose suffix `path` ends with (a trailing .gz is allowed where readers say);
    FormatError when the name does not say. `choose_format` also reads the content."""
    fmt = _by_name(Path(path))
    if fmt is None:
        raise FormatError(f"cannot tell the format from the file name; use --format ({_known()})",
                          str(path))
    return fmt


def choose_format(path: str | Path, format: str | None = None,
                  writing: bool = False, flag: str = "--format") -> tuple[str, str]:
    """(format name, how it was chosen) for reading (or `writing`) `path`.

    `format` wins when given. Else the file name decides (`.psdd`, `.jpc`, ...; `.spn` by a
    look at the file, as three formats use it), and where it cannot (`.txt`, no or an unknown
    extension) the content does (`pcc.frontends.sniff`); a file about to be written has no
    content to read, so its name must say. `flag`: the option that gives the format, as the
    messages name it (`--to` for the file `pcc convert` writes).
    """
    p = Path(path)
    if format is not None:
        if format not in FORMATS:
            raise FormatError(f"unknown format {format!r}; known: {', '.join(FORMATS)}", str(path))
        return format, f"given by {flag}"
    fmt = _by_name(p)
    if fmt is not None:
        return fmt.name, "from the file name"
    if writing:
        raise FormatError("cannot tell the format to write from the file name; use a known "
                          f"extension or {flag} ({_known()})", str(path))
    if not p.exists():
        raise FormatError("no such file (and its name does not say the format: --format "
                          "gives it)", str(path))
    found = sniff(p)
    if found is None:
        raise FormatError("cannot tell the format from the file name or its content; use "
                          f"--format ({_known()})", str(path))
    name, why = found
    if name == "vtree":
        raise FormatError("this is a UCLA vtree file, not a circuit (give it with --vtree)",
                          str(path))
    return name, f"from the content: {why}"


def _by_name(path: Path) -> Format | None:
    name = str(path).lower()
    if name.endswith(".txt"):  # SPFlow users save equations as .txt: decided by the content
        return None
    for fmt in FORMATS.values():
        if any(name.endswith(s) for s in fmt.suffixes) and (fmt.sniff is None
                                                             or fmt.sniff(path)):
            return fmt
    return None


def _known() -> str:
    return ", ".join(f"{f.name} ({' '.join(f.suffixes) or 'by content'})"
                     for f in FORMATS.values())


def load_circuit(path: str | Path, format: str | None = None, **options: object) -> Circuit:
    """Read a circuit from `path` in `format` (default: from the file name, else the content;
    a format chosen from the content is said in one line on the `pcc` logger, which prints it
    to stderr unless logging is configured otherwise)."""
    name, how = choose_format(path, format)
    fmt = FORMATS[name]
    if fmt.load is None:
        raise FormatError(f"pcc cannot read the {fmt.name} format", str(path))
    if not Path(path).exists():
        raise FormatError("no such file", str(path))
    if how.startswith("from the content"):
        logging.getLogger("pcc").warning(f"pcc: {path}: read as {name} ({how}; --format "
                                         "overrides)")
    return fmt.load(path, **options)


def save_circuit(circuit: Circuit, path: str | Path, format: str | None = None,
                 **options: object) -> None:
    """Write `circuit` to `path` in `format` (default: detected from the file name)."""
    fmt = FORMATS[choose_format(path, format, writing=True)[0]]
    if fmt.save is None:
        raise FormatError(f"pcc cannot write the {fmt.name} format", str(path))
    fmt.save(circuit, Path(path), **options)
