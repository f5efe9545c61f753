"""The `.pcc` file: one versioned zip of a JSON header and flat numpy arrays (docs/pcc-format.md).

Columnar, so that a circuit of 10^5 groups and 10^6 units saves and loads in about a second, and
float64 parameters round-trip bit for bit. A damaged file never loads with different numbers:
zip CRCs are verified, and the header holds a CRC-32 of every array and of its own content.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from pcc.ir import Circuit, Domain, FormatError, Input, InvalidCircuitError, Product, Sum
from pcc.families.table import FAMILIES
from pcc.ir.groups import Group

FORMAT = "pcc"
VERSION = 1
KINDS = ("input", "product", "sum")
MODES = {"product": ("hadamard", "kronecker"), "sum": ("dense", "mixing")}
ARRAYS = ("kind", "mode", "units", "var", "child_start", "children", "array_start",
          "value_start", "values", "shape_start", "shapes")
MAX_EXACT_INT = 2**53
# Bounds on what a member may declare, checked before it is inflated (zipfile never inflates
# past a member's declared size), so that a damaged or hostile file costs memory in proportion
# to the circuit its header and offset tables describe, not to what its deflate streams hold.
NPY_SLACK = 1 << 16          # a version-1 .npy header is at most 64 KiB
HEADER_BASE = 64 << 20       # header.json: 64 MiB (the variables' domains) ...
HEADER_PER_GROUP = 512       # ... plus 512 bytes a group (its origin, `file:line`) ...
HEADER_MAX = 1 << 30         # ... and never more than 1 GiB
HEADER_PADDING = 4           # a header may be at most 4x its compact JSON (+ NPY_SLACK)
# what a damaged zip may raise from zipfile (a bad deflate stream, an impossible seek, an
# unknown compression method or "encrypted" flag from a flipped bit, a short header)
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
              NotImplementedError, RuntimeError, ValueError, struct.error, OverflowError)


def save_pcc(circuit: Circuit, path: str | Path, metadata: dict | None = None) -> None:
    """Write `circuit` to `path` as a `.pcc` file; `metadata` (JSON values, e.g. the
    `kept_variables` of `pcc transform`) goes into header.json as "metadata", read by nothing
    but people and tools."""
    families = sorted({g.family for g in circuit.groups if isinstance(g, Input)})
    n = len(circuit.groups)
    kind = np.empty(n, np.int8)
    mode = np.empty(n, np.int8)
    units = np.empty(n, np.int64)
    var = np.full(n, -1, np.int64)
    child_count = np.empty(n, np.int64)
    array_count = np.empty(n, np.int64)
    arrays: list[np.ndarray] = []
    for group in circuit.groups:
        i = group.id
        kind[i] = KINDS.index(group.kind)
        units[i] = group.units
        child_count[i] = len(group.children)
        if isinstance(group, Input):
            mode[i] = families.index(group.family)
            var[i] = group.var
            own = [group.params[name] for name in FAMILIES[group.family].param_names]
        else:
            mode[i] = MODES[group.kind].index(group.mode)
            own = [group.weights] if isinstance(group, Sum) else []
        array_count[i] = len(own)
        arrays += own
    for a in arrays:
        if a.dtype.kind == "i" and a.size and np.abs(a).max() >= MAX_EXACT_INT:
            raise FormatError("integer parameter too large for the .pcc format", str(path))
    children = np.fromiter((c for g in circuit.groups for c in g.children), np.int64)
    columns = {
        "kind": kind, "mode": mode, "units": units, "var": var,
        "child_start": _starts(child_count), "children": children,
        "array_start": _starts(array_count),
        "value_start": _starts(np.array([a.size for a in arrays], np.int64)),
        "values": np.concatenate([a.ravel().astype(np.float64) for a in arrays] or [np.empty(0)]),
        "shape_start": _starts(np.array([a.ndim for a in arrays], np.int64)),
        "shapes": np.fromiter((s for a in arrays for s in a.shape), np.int64),
    }
    origins = [g.origin for g in circuit.groups]
    header: dict = {
        "format": FORMAT, "version": VERSION,
        "variables": [str(d) for d in circuit.domains],
        "families": families, "groups": n,
        "origins": origins if any(o is not None for o in origins) else None,
    }
    if metadata:
        header["metadata"] = metadata
    members = {}
    for name, array in columns.items():
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        members[f"{name}.npy"] = buffer.getvalue()
    header["crc32"] = {"header": _header_crc(header),
                       **{name: zlib.crc32(data) for name, data in members.items()}}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("header.json", json.dumps(header, indent=1))
        for name, data in members.items():
            archive.writestr(name, data)


def load_pcc(path: str | Path) -> Circuit:
    """Read a `.pcc` file; a damaged file raises `FormatError` naming what is wrong."""
    where = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise FormatError("no such file", where) from None
    except IsADirectoryError:
        raise FormatError("is a directory, expected a .pcc file", where) from None
    except ZIP_ERRORS as error:
        raise FormatError(f"not a .pcc file or truncated ({error})", where) from None
    with archive:
        header = _read_header(archive, where)
        columns: dict[str, np.ndarray] = {}
        for name in READ_ORDER:
            count, source = _expected_count(name, header, columns)
            columns[name] = _read_array(archive, name, where, header, count, source)
    try:
        groups = _decode(header, columns, where)
        return Circuit(groups, [Domain.parse(d) for d in header["variables"]])
    except InvalidCircuitError as error:
        raise FormatError(str(error), where) from None
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise FormatError(f"malformed content: {error}", where) from None


def _starts(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _header_crc(header: dict) -> int:
    """CRC-32 of what the header says about the circuit (all but the checksums themselves)."""
    content = {k: v for k, v in header.items() if k != "crc32"}
    return zlib.crc32(json.dumps(content, sort_keys=True).encode())


# arrays in an order where each one's length follows from the header or from arrays read
# before it (the offset tables' last entries), so every size is checked before inflating
READ_ORDER = ("kind", "mode", "units", "var", "child_start", "array_start", "value_start",
              "shape_start", "children", "shapes", "values")
COUNTS = {"kind": "groups", "mode": "groups", "units": "groups", "var": "groups",
          "child_start": "groups+1", "array_start": "groups+1", "value_start": "array_start",
          "shape_start": "array_start", "children": "child_start", "shapes": "shape_start",
          "values": "value_start"}


def _expected_count(name: str, header: dict, columns: dict[str, np.ndarray]) -> tuple[int, str]:
    """How many entries array `name` should have, and what says so: the header's group count
    or an offset table read before it (its last entry; a damaged table gives a wrong count
    here and is named by `_decode`)."""
    source = COUNTS[name]
    if source.startswith("groups"):
        return max(int(header["groups"]), 0) + source.endswith("+1"), "the header's group count"
    table = columns[source]
    last = int(table[-1]) if len(table) and table.dtype.kind in "iu" else 0
    return max(last, 0) + (name in ("value_start", "shape_start")), f"{source}.npy"


def _member(archive: zipfile.ZipFile, name: str, where: str, limit: int, source: str) -> bytes:
    """A member's bytes, refused before inflating when it declares more than `limit` bytes
    (what `source` allows); zipfile checks its CRC-32 as it reads to the end, and never
    inflates past the declared size."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise FormatError(f"{name} is missing", where) from None
    if info.file_size > limit:
        raise FormatError(f"{name} declares {info.file_size} bytes where {source} allows at "
                          f"most {limit} (the file is damaged)", where)
    try:
        return archive.read(info)
    except ZIP_ERRORS as error:
        raise FormatError(f"{name} is damaged ({error})", where) from None


def _header_limit(archive: zipfile.ZipFile) -> tuple[int, str]:
    """The most bytes header.json may declare: it holds the variables' domains and one origin
    a group, and kind.npy one byte a group (its declared size stands in for the group count,
    which is inside the header)."""
    kind = archive.NameToInfo.get("kind.npy")
    groups = kind.file_size if kind is not None else 0
    return (min(HEADER_BASE + HEADER_PER_GROUP * groups, HEADER_MAX),
            f"a header for kind.npy's {groups} bytes")


def _read_header(archive: zipfile.ZipFile, where: str) -> dict:
    data = _member(archive, "header.json", where, *_header_limit(archive))
    try:
        header = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FormatError(f"header.json is not valid JSON ({error})", where) from None
    except RecursionError:
        raise FormatError("header.json is nested too deeply", where) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise FormatError("header.json does not describe a pcc circuit", where)
    if header.get("version") != VERSION:
        raise FormatError(f"unsupported .pcc version {header.get('version')!r} "
                          f"(this pcc reads version {VERSION})", where)
    for key, kind in (("variables", list), ("families", list), ("groups", int)):
        if not isinstance(header.get(key), kind):
            raise FormatError(f"header.json: {key!r} is missing or not a {kind.__name__}", where)
    crc = header.get("crc32")  # absent in files written before pcc kept checksums
    if crc is not None:
        if not isinstance(crc, dict):
            raise FormatError("header.json: 'crc32' is not an object", where)
        if crc.get("header") != _header_crc(header):
            raise FormatError("header.json does not match its checksum (the file is damaged)",
                              where)
    compact = len(json.dumps(header, separators=(",", ":")))
    if len(data) > HEADER_PADDING * compact + NPY_SLACK:
        raise FormatError(f"header.json is {len(data)} bytes for {compact} bytes of content "
                          "(padded: the file is damaged)", where)
    return header


def _read_array(archive: zipfile.ZipFile, name: str, where: str, header: dict,
                count: int, source: str) -> np.ndarray:
    """Array `name`, which should have `count` entries (of at most 8 bytes: `source` says)."""
    member = f"{name}.npy"
    if member not in archive.NameToInfo:
        raise FormatError(f"array {member} is missing", where)
    data = _member(archive, member, where, NPY_SLACK + 8 * count, source)
    crc = header.get("crc32")
    if crc is not None and crc.get(member) != zlib.crc32(data):
        raise FormatError(f"array {member} does not match its checksum in header.json (the "
                          "file is damaged)", where)
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, EOFError, OSError) as error:
        raise FormatError(f"array {name}.npy is damaged ({error})", where) from None
    if array.ndim != 1:
        raise FormatError(f"array {name}.npy must be 1-d, has shape {array.shape}", where)
    return array


def _decode(header: dict, c: dict[str, np.ndarray], where: str) -> list[Group]:
    n = header["groups"]
    for name in ("kind", "mode", "units", "var"):
        _expect(len(c[name]) == n, f"{name}.npy has {len(c[name])} entries, header says {n}", where)
    for start, data in (("child_start", "children"), ("value_start", "values"),
                        ("shape_start", "shapes")):
        _expect_offsets(c[start], len(c[data]), start, where)
    _expect_offsets(c["array_start"], len(c["value_start"]) - 1, "array_start", where)
    _expect(len(c["child_start"]) == n + 1 and len(c["array_start"]) == n + 1,
            "child_start/array_start do not have one entry per group plus one", where)
    _expect(len(c["shape_start"]) == len(c["value_start"]),
            "shape_start and value_start disagree on the number of arrays", where)
    families = header["families"]
    origins = header.get("origins") or [None] * n
    children = c["children"].tolist()
    child_start = c["child_start"].tolist()
    arrays = _split_arrays(c, where)
    array_start = c["array_start"].tolist()
    groups: list[Group] = []
    for i in range(n):
        kind = KINDS[int(c["kind"][i])] if 0 <= c["kind"][i] < 3 else None
        _expect(kind is not None, f"group #{i}: unknown kind code {c['kind'][i]}", where)
        mode, units = int(c["mode"][i]), int(c["units"][i])
        own = arrays[array_start[i]:array_start[i + 1]]
        kids = tuple(children[child_start[i]:child_start[i + 1]])
        origin = origins[i]
        if kind == "input":
            _expect(0 <= mode < len(families), f"group #{i}: unknown family code {mode}", where)
            names = FAMILIES[families[mode]].param_names
            _expect(len(own) == len(names), f"group #{i}: expected {len(names)} arrays", where)
            groups.append(Input(i, units, int(c["var"][i]), families[mode],
                                dict(zip(names, own)), origin))
        elif kind == "product":
            groups.append(Product(i, units, kids, MODES["product"][mode], origin))
        else:
            _expect(len(own) == 1, f"group #{i}: a sum needs exactly one weight array", where)
            groups.append(Sum(i, units, kids, own[0], MODES["sum"][mode], origin))
    return groups


def _split_arrays(c: dict[str, np.ndarray], where: str) -> list[np.ndarray]:
    values, value_start = c["values"], c["value_start"].tolist()
    shapes, shape_start = c["shapes"].tolist(), c["shape_start"].tolist()
    out = []
    for k in range(len(value_start) - 1):
        shape = tuple(shapes[shape_start[k]:shape_start[k + 1]])
        flat = values[value_start[k]:value_start[k + 1]]
        _expect(int(np.prod(shape)) == flat.size, f"array {k} has {flat.size} values but "
                f"shape {shape}", where)
        out.append(flat.reshape(shape))
    return out


def _expect(condition: bool, message: str, where: str) -> None:
    if not condition:
        raise FormatError(message, where)


def _expect_offsets(starts: np.ndarray, total: int, name: str, where: str) -> None:
    ok = len(starts) >= 1 and starts[0] == 0 and starts[-1] == total and np.all(np.diff(starts) >= 0)
    _expect(bool(ok), f"{name}.npy is not a valid offset table", where)
