"""Shared plumbing of the text frontends: reading (gzipped) files, pointing at tokens, and turning
per-node records into a `Circuit` (reachable part only, ids renumbered, origins `file:line`).

Parsers split lines on whitespace and convert tokens with `Line.int`/`Line.float`; any failure
raises `FormatError` with `file:line:col` and the offending token, so no `ValueError` or
`IndexError` escapes from inside a parser.
"""

from __future__ import annotations

import builtins
import gzip
import logging
import math
import re
import zlib
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from pcc.ir import Circuit, Domain, FormatError, Input, InvalidCircuitError, Product, Sum
from pcc.ir.groups import Group

# Limits on what one token may ask for, so that a damaged number (a flipped digit, 10^20) is a
# parse error naming its line rather than an OverflowError or a list of 10^20 domains: pcc
# reads circuits of up to 2^20 variables, and discrete domains of up to 2^20 values.
MAX_VARIABLES = 1 << 20
MAX_VALUES = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes; gzip-compressed files (by magic number) are decompressed, and a file
    that starts like gzip but is not a valid gzip stream is a FormatError."""
    try:
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise FormatError("is a directory, expected a file", str(path)) from None
    except OSError as error:
        raise FormatError(f"cannot read: {error.strerror or error}", str(path)) from None
    return gunzip(raw, path)


def gunzip(raw: bytes, path: str | Path) -> bytes:
    """`raw` decompressed if it starts like gzip (a FormatError if it is not valid gzip)."""
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise FormatError(f"corrupt gzip data (the file starts like gzip): {error}",
                              str(path)) from None
    return raw


def decode(raw: bytes, path: str | Path) -> str:
    """UTF-8 text, or a FormatError naming the line and column of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        start = raw.rfind(b"\n", 0, error.start) + 1
        line = raw.count(b"\n", 0, error.start) + 1
        col = len(raw[start:error.start].decode("utf-8", "replace")) + 1
        raise FormatError(f"not UTF-8 text (byte {raw[error.start]:#04x})", str(path),
                          line, col) from None


def read_text(path: str | Path) -> str:
    """The file's text (see `read_bytes` and `decode`)."""
    return decode(read_bytes(path), path)


def head_text(path: Path, size: int = 1 << 12) -> str | None:
    """The first `size` bytes of a file's text (decompressed if gzip), for format sniffing;
    None where the file cannot be read or is not text: sniffers guess, readers report."""
    try:
        with open(path, "rb") as f:
            raw = f.read(size)
            if raw[:2] == GZIP_MAGIC:
                f.seek(0)
                with gzip.open(f) as g:
                    raw = g.read(size)
    except (OSError, EOFError, zlib.error):
        return None
    return raw.decode("utf-8", "replace")


class Line:
    """One line of a file split into whitespace-separated tokens, with error helpers."""

    __slots__ = ("path", "number", "text", "tokens")

    def __init__(self, path: str, number: int, text: str, tokens: list[str] | None = None):
        self.path, self.number, self.text = path, number, text
        self.tokens = text.split() if tokens is None else tokens

    @property
    def origin(self) -> str:
        return f"{self.path}:{self.number}"

    def col(self, index: int) -> int:
        """1-based column of token `index` (one past the end for a missing token)."""
        pos = 0
        for i in range(index + 1):
            if i >= len(self.tokens):
                return len(self.text.rstrip()) + 1
            pos = self.text.index(self.tokens[i], pos)
            if i < index:
                pos += len(self.tokens[i])
        return pos + 1

    def error(self, message: str, index: int | None = None) -> FormatError:
        """A FormatError at this line (and at token `index`, quoted in the message)."""
        if index is None:
            return FormatError(message, self.path, self.number)
        if index < len(self.tokens):
            message += f" (got {self.tokens[index]!r})"
        else:
            message += " (the line ends here)"
        return FormatError(message, self.path, self.number, self.col(index))

    def token(self, index: int, what: str) -> str:
        if index >= len(self.tokens):
            raise self.error(f"missing {what}", index)
        return self.tokens[index]

    def int(self, index: builtins.int, what: str, low: builtins.int | None = 0,
            high: builtins.int | None = None) -> builtins.int:
        text = self.token(index, what)
        if len(text) > 40:  # also keeps int() off Python's 4300-digit limit
            raise self.error(f"{what} is too long for a number", index)
        try:
            value = int(text)
        except ValueError:
            raise self.error(f"{what} must be an integer", index) from None
        if low is not None and value < low:
            raise self.error(f"{what} must be >= {low}", index)
        if high is not None and value > high:
            raise self.error(f"{what} must be <= {high}", index)
        return value

    def variable(self, index: builtins.int, what: str = "the variable",
                 low: builtins.int = 1) -> builtins.int:
        """A variable number (1-based in most formats: `low`), at most MAX_VARIABLES."""
        return self.int(index, what, low, MAX_VARIABLES - 1 + low)

    def float(self, index: builtins.int, what: str, finite: bool = True) -> builtins.float:
        text = self.token(index, what)
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"{what} must be a number", index) from None
        if finite and not math.isfinite(value):
            raise self.error(f"{what} must be finite", index)
        return value

    def expect_count(self, count: builtins.int, what: str) -> None:
        if len(self.tokens) != count:
            index = min(len(self.tokens), count)
            raise self.error(f"expected {count} tokens for {what}, found {len(self.tokens)}",
                             index)


def lines_of(path: str | Path, text: str | None = None) -> list[Line]:
    """Non-blank lines of the file (1-based line numbers kept)."""
    text = read_text(path) if text is None else text
    name = str(path)
    return [Line(name, n, t) for n, t in enumerate(text.splitlines(), 1) if t.strip()]


# -- records -> Circuit ----------------------------------------------------------------------
class Records:
    """Nodes in file order (children first): kind, children (record indices), payload, origin.

    payload: (var, family, params) for "input", a 1-d weight array for "sum", None for
    "product". `build` keeps what the last record reaches and renumbers it.
    """

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.children: list[Sequence[int]] = []
        self.payloads: list[Any] = []
        self.origins: list[str | None] = []

    def __len__(self) -> int:
        return len(self.kinds)

    def add(self, kind: str, children: Sequence[int], payload: object, origin: str | None) -> int:
        self.kinds.append(kind)
        self.children.append(children)
        self.payloads.append(payload)
        self.origins.append(origin)
        return len(self.kinds) - 1

    def input(self, var: int, family: str, params: dict[str, object], origin: str | None) -> int:
        return self.add("input", (), (var, family, params), origin)

    def build(self, domains: Sequence[Domain], path: str, root: int | None = None) -> Circuit:
        """The circuit of every record reachable from `root` (default: the last one)."""
        if not self.kinds:
            raise FormatError("the file has no nodes", path)
        root = len(self.kinds) - 1 if root is None else root
        keep = np.zeros(len(self.kinds), dtype=bool)
        keep[root] = True
        for i in range(root, -1, -1):
            if keep[i]:
                for c in self.children[i]:
                    keep[c] = True
        new_id = np.cumsum(keep) - 1
        ids = new_id.tolist()
        kept_lines = {self.origins[i] for i in np.flatnonzero(keep).tolist()}
        lost = {self.origins[i] for i in np.flatnonzero(~keep).tolist()} - kept_lines
        lost_inner = {self.origins[i] for i in np.flatnonzero(~keep).tolist()
                      if self.kinds[i] != "input"} - kept_lines
        used = [self.payloads[i][0] for i in np.flatnonzero(keep).tolist()
                if self.kinds[i] == "input"]
        warn_unused(path, len(lost), len(lost_inner), len(lost) + len(kept_lines), used,
                    len(domains), self.origins[root])
        groups: list[Group] = []
        for i in np.flatnonzero(keep).tolist():
            kind, payload, origin = self.kinds[i], self.payloads[i], self.origins[i]
            n = ids[i]
            try:
                if kind == "product":
                    groups.append(Product(n, 1, tuple(ids[c] for c in self.children[i]),
                                          "hadamard", origin))
                elif kind == "sum":
                    groups.append(Sum(n, 1, tuple(ids[c] for c in self.children[i]),
                                      np.reshape(payload, (1, -1)), "dense", origin))
                else:
                    var, family, params = payload
                    groups.append(Input(n, 1, var, family,
                                        {k: np.reshape(v, (1,) + np.shape(v))
                                         for k, v in params.items()}, origin))
            except ValueError as error:  # a group constructor rejects the values
                raise FormatError(str(error), *_split_origin(origin)) from None
        try:
            return Circuit(groups, domains)
        except InvalidCircuitError as error:
            # point at the source line of the first group named in the problems
            first = re.search(r"#(\d+)", error.problems[0])
            origin = groups[int(first.group(1))].origin if first and \
                int(first.group(1)) < len(groups) else None
            where = _split_origin(origin) if origin else (path, None)
            raise FormatError(str(error), *where) from None


def warn_unused(path: str, lost_lines: int, lost_inner: int, node_lines: int,
                used_vars: Sequence[int] | np.ndarray, num_vars: int, root: str | None) -> None:
    """Say on the `pcc` logger (stderr, for check, info, eval and every command that reads a
    file) how many node lines the root does not reach and which declared variables it does
    not depend on: a file cut at a line boundary reads as a valid circuit over fewer
    variables, and nothing else would tell. Unreached leaf lines alone are not worth a word
    (UCLA PSDDs list literals nothing uses); an unreached sum or product line is."""
    log = logging.getLogger("pcc")
    line = (root or "").rpartition(":")[2]
    where = f" (line {line}, the last node line)" if line.isdigit() else ""
    if lost_inner:
        log.warning(f"pcc: {path}: the root{where} does not reach {lost_lines} of the "
                    f"{node_lines} node lines, {lost_inner} of them sums or products; they "
                    "are ignored (is the file cut short?)")
    missing = np.setdiff1d(np.arange(num_vars), np.asarray(used_vars, dtype=np.int64))
    if len(missing):
        log.warning(f"pcc: {path}: the root{where} depends on {num_vars - len(missing)} of the "
                    f"{num_vars} variables, not on {spans(missing)} (0-based columns)")


def spans(values: np.ndarray, most: int = 8) -> str:
    """Sorted ints as runs, e.g. `0, 3-7, 9` (the first `most` runs, then how many more)."""
    cuts = np.flatnonzero(np.diff(values) != 1) + 1
    runs = [(int(r[0]), int(r[-1])) for r in np.split(values, cuts)]
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:most])
    return text + (f" and {len(runs) - most} more runs" if len(runs) > most else "")


def _split_origin(origin: str | None) -> tuple[str | None, int | None]:
    if origin is None:
        return None, None
    head, _, tail = origin.rpartition(":")
    return (head, int(tail)) if tail.isdigit() else (origin, None)


def binary_or_categorical(size: int) -> Domain:
    """binary for sizes up to 2, else categorical(size)."""
    return Domain("binary") if size <= 2 else Domain("categorical", size)


# Indicator leaves times the widest domain: what the compiled circuit's leaf tables hold (one
# row a leaf, as wide as the domain). Above this, a declared domain far wider than the values
# the file's indicators use is read as just wide enough.
LEAF_TABLE_BUDGET = 1 << 24


def indicator_domains(rec: Records, sizes: Sequence[int], path: str) -> list[Domain]:
    """The domains of variables with the declared `sizes` (a Libra header; 1 reads as 2), for
    the indicator leaves in `rec`. Where the indicators times the widest declared domain pass
    LEAF_TABLE_BUDGET (a 1 KB file declaring 2^20 values with 100 indicators took 3.5 GB to
    evaluate), each variable declared wider than its largest indicated value + 1 gets that
    width instead, and the `pcc` logger says so: a data value beyond it is then an error
    rather than a row of probability zero. A variable no indicator mentions keeps its size."""
    widths = [max(s, 2) for s in sizes]
    leaves = [(p[0], p[2]["value"]) for k, p in zip(rec.kinds, rec.payloads)
              if k == "input" and p[1] == "indicator"]
    if len(leaves) * max(widths, default=2) <= LEAF_TABLE_BUDGET:
        return [binary_or_categorical(w) for w in widths]
    top: dict[int, int] = {}
    for var, value in leaves:
        top[var] = max(top.get(var, 0), int(value))
    narrowed = [(v, widths[v], max(top[v] + 1, 2)) for v in sorted(top)
                if widths[v] > max(top[v] + 1, 2)]
    for v, _, width in narrowed:
        widths[v] = width
    if narrowed:
        shown = ", ".join(f"{v} ({was} -> {now})" for v, was, now in narrowed[:8])
        more = f" and {len(narrowed) - 8} more" if len(narrowed) > 8 else ""
        logging.getLogger("pcc").warning(
            f"pcc: {path}: {len(leaves)} indicators over domains of up to {max(sizes)} values "
            f"would make tables of {len(leaves) * max(sizes)} entries; the domains of variables "
            f"{shown}{more} are narrowed to the values the file uses (larger values in the "
            "data are errors)")
    return [binary_or_categorical(w) for w in widths]


T = TypeVar("T")


def not_representable(write: Callable[[], T], path: str | Path, what: str) -> T:
    """`write()`, with a writer's FormatError re-raised naming the output file."""
    try:
        return write()
    except FormatError as error:
        message = str(error).removeprefix("<input>: ")
        raise FormatError(f"cannot write {what}: {message}", str(path)) from None
