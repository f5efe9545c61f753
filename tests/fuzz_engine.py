"""Seeded mutations of circuit files, and a harness that loads each mutant under a time limit.

A mutant is the seed file's bytes changed by one or a few operations a damaged disk, a careless
edit or a hostile file would make: byte flips, truncation, duplicated/deleted/swapped lines,
numbers replaced by nan/inf/huge integers, bytes that look gzip-compressed but are not, and for
zip files (`.pcc`) corrupted, replaced, dropped or hugely inflated members. `check_case` loads
one mutant and says how it ended: "ok" (it loaded), "error" (pcc's own one-line error), or raises
`AssertionError` naming the seed, operations and what went wrong (a foreign exception, a
multi-line or unlocated message, or a parse slower than the file's size allows).
"""

from __future__ import annotations

import io
import random
import re
import signal
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pcc.ir import PccError

NUMBERS = [b"nan", b"inf", b"-inf", b"1e999", b"-0", b"0", b"-1", b"4294967296",
           b"99999999999999999999", b"18446744073709551616", b"9" * 400, b"9" * 5000,
           b"1e-400", b"0x10", b"1_000"]
GZIP_MAGIC = b"\x1f\x8b"
# tokens of one format dropped into another (and punctuation of the SPFlow forms)
JUNK = [b"", b"x", b"(", b")", b"[", b"]", b"*", b"+", b"|", b";", b",", b"EOF", b"L", b"D", b"T",
        b"n", b"v", b"{", b"}", b"=", b"p=", b"V0", b"V99", b"SumNode(", b"psdd", b"vtree", b"jpc",
        b"3)", b"(2", b"c", b"spac", b"null", b"ac"]
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass
class Seed:
    """A file to mutate and how to load a mutant: `place(folder, mutant)` writes it (for a
    Libra model directory: the directory with one file replaced) and returns what to load."""

    name: str
    data: bytes
    load: Callable[[Path], object]
    suffix: str = ""                 # the mutant's file name suffix
    zipped: bool = False             # a .pcc zip: use member-level mutations too
    place: Callable[[Path, bytes], Path] | None = None
    same_as: object = None           # a circuit every mutant that loads must equal (.pcc)

    def write(self, folder: Path, mutant: bytes) -> Path:
        if self.place is not None:
            return self.place(folder, mutant)
        path = folder / f"mutant{self.suffix}"
        path.write_bytes(mutant)
        return path


def mutate(data: bytes, rng: random.Random, zipped: bool = False) -> tuple[bytes, list[str]]:
    """`data` changed by 1-3 random operations, and their names."""
    ops: list[str] = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        op = rng.choice(ZIP_OPS if zipped and rng.random() < 0.7 else TEXT_OPS)
        data = op(data, rng)
        ops.append(op.__name__)
    return data, ops


# -- byte/line operations -------------------------------------------------------------------
def flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 4))):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def dup_line(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return b"\n".join(lines)


def del_line(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def swap_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def number(data: bytes, rng: random.Random) -> bytes:
    """One number in the text replaced by nan, inf, a huge integer, ..."""
    found = list(_NUMBER.finditer(data[:1 << 20]))
    if not found:
        return flip(data, rng)
    m = rng.choice(found)
    return data[:m.start()] + rng.choice(NUMBERS) + data[m.end():]


def token(data: bytes, rng: random.Random) -> bytes:
    """One space-separated token replaced by a token of some format, deleted or doubled."""
    parts = data[:1 << 20].split(b" ")
    i = rng.randrange(len(parts))
    choice = rng.randrange(4)
    if choice == 0:
        del parts[i]
    elif choice == 1:
        parts.insert(i, parts[i])
    else:
        parts[i] = rng.choice(JUNK)
    return b" ".join(parts) + data[1 << 20:]


def not_gzip(data: bytes, rng: random.Random) -> bytes:
    """Bytes that start like gzip but are not a valid gzip stream."""
    import gzip

    packed = gzip.compress(data)
    choice = rng.randrange(3)
    if choice == 0:
        return GZIP_MAGIC + data[2:]
    if choice == 1:
        return packed[:rng.randrange(2, len(packed))]
    return flip(packed, rng)


TEXT_OPS = [flip, flip, truncate, dup_line, del_line, swap_lines, number, number, token, token,
            not_gzip]


# -- zip member operations (.pcc) -----------------------------------------------------------
def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [(info, archive.read(info)) for info in archive.infolist()]
    except Exception:  # already damaged: fall back to byte operations
        return None


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def member_bytes(data: bytes, rng: random.Random) -> bytes:
    """Flip bytes inside one member's compressed data (the zip's CRC no longer matches)."""
    members = _members(data)
    if not members:
        return flip(data, rng)
    info, _ = rng.choice(members)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    out = bytearray(data)
    for _ in range(rng.choice((1, 3))):
        out[start + rng.randrange(max(info.compress_size, 1))] ^= 1 << rng.randrange(8)
    return bytes(out)


def member_content(data: bytes, rng: random.Random) -> bytes:
    """One member's content changed and the zip rewritten with valid CRCs (a forged or
    mixed-up file): a bit flip, a truncation, the member dropped, or gzip-looking junk."""
    members = _members(data)
    if not members:
        return flip(data, rng)
    k = rng.randrange(len(members))
    pairs = [(info.filename, content) for info, content in members]
    name, content = pairs[k]
    choice = rng.randrange(4)
    if choice == 0 and content:
        raw = bytearray(content)
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        pairs[k] = (name, bytes(raw))
    elif choice == 1:
        pairs[k] = (name, content[:rng.randrange(len(content) + 1)])
    elif choice == 2:
        del pairs[k]
    else:
        pairs[k] = (name, GZIP_MAGIC + content[2:])
    return _zip(pairs)


def member_inflated(data: bytes, rng: random.Random) -> bytes:
    """One member followed by MiBs of zeros or spaces (a few KiB of deflate stream), the zip
    rewritten with valid CRCs: a reader must refuse it from its declared size."""
    members = _members(data)
    if not members:
        return flip(data, rng)
    pairs = [(info.filename, content) for info, content in members]
    k = rng.randrange(len(pairs))
    filler = b" " if pairs[k][0].endswith(".json") else b"\0"
    pairs[k] = (pairs[k][0], pairs[k][1] + filler * (rng.choice((1, 4, 70)) << 20))
    return _zip(pairs)


ZIP_OPS = [member_bytes, member_bytes, member_content, member_content, member_inflated, flip,
           truncate]


# -- the harness ----------------------------------------------------------------------------
class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout()


_LOCATED = re.compile(r"^(?P<path>.+?)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: \S")


def check_case(seed: Seed, mutant: bytes, ops: list[str], folder: Path, limit_s: float) -> str:
    """Load `mutant` (written into `folder`); "ok" or "error", else AssertionError."""
    path = seed.write(folder, mutant)
    what = f"{seed.name} mutated by {'+'.join(ops)}"
    # the limit is on this process's CPU time (a shared machine's load does not count), with a
    # wall-clock hard stop well past it so that a hang still ends
    hard_stop = 5 * limit_s + 10
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, hard_stop)
    start = time.process_time()
    try:
        loaded = seed.load(path)
        outcome, message = "ok", ""
    except PccError as error:
        outcome, message = "error", str(error)
    except _Timeout:
        raise AssertionError(f"{what}: still parsing after {hard_stop:.0f} s") from None
    except RecursionError:
        raise AssertionError(f"{what}: RecursionError escaped") from None
    except Exception as error:
        raise AssertionError(f"{what}: {type(error).__name__} escaped: {error}") from error
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    spent = time.process_time() - start
    assert spent <= limit_s, f"{what}: took {spent:.2f} s of CPU, limit {limit_s:.2f} s"
    if outcome == "ok" and seed.same_as is not None:
        from pcc.ir import Circuit
        from tests.helpers import assert_same_circuit

        assert isinstance(loaded, Circuit) and isinstance(seed.same_as, Circuit)
        try:
            assert_same_circuit(loaded, seed.same_as)
        except AssertionError as error:
            raise AssertionError(f"{what}: loaded with other content: {error}") from None
    if outcome == "error":
        assert "\n" not in message, f"{what}: multi-line error {message!r}"
        assert _LOCATED.match(message) and str(folder) in message, \
            f"{what}: error does not name the file: {message!r}"
    return outcome


def cli_check(path: Path, *extra: str) -> int:
    """`pcc check PATH` in this process: its exit status, with pcc's one-line error (exit 2)
    raised as a PccError-like AssertionError-free outcome for `check_case`."""
    import contextlib

    from pcc.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main(["check", str(path), *extra])
    text = err.getvalue().strip()
    if status == 2:
        raise CliError(text.removeprefix("pcc check: error: "))
    assert status in (0, 1), f"pcc check exited {status}: {text!r}"
    return status


class CliError(PccError):
    """pcc's one-line error as the CLI printed it (exit status 2)."""
