"""The fuzz defects of issue 23 item 5, one focused test each pinning the message: vtrees that are
not UTF-8 text, `pcc eval --vtree` rejecting what `pcc check` rejects, PSDDs cut at a line
boundary, Libra headers declaring huge domains, `.pcc` members that inflate far beyond what the
header allows, and a Libra chain 10^5 sums deep (compile time linear in the file's size)."""

from __future__ import annotations

import gzip
import tracemalloc
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from pcc.cli.main import main
from pcc.frontends.vtree_json import load_any_vtree
from pcc.ir import FormatError
from tests.fuzz_seeds import PSDD, VTREE


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# -- vtrees that are not UTF-8 text ---------------------------------------------------------
def test_a_vtree_that_is_not_utf8_is_one_located_error(tmp_path: Path) -> None:
    path = tmp_path / "b9.vtree"
    path.write_bytes(b"\xb9")
    with pytest.raises(FormatError, match=r"^.*b9.vtree:1:1: not UTF-8 text \(byte 0xb9\)$"):
        load_any_vtree(path)
    path.write_bytes(b"[[0, 1],\n [2, \xff3]]")
    with pytest.raises(FormatError, match=r"b9.vtree:2:6: not UTF-8 text \(byte 0xff\)$"):
        load_any_vtree(path)


def test_a_gzipped_vtree_reads_like_every_gzipped_text_input(tmp_path: Path) -> None:
    (tmp_path / "v.vtree").write_bytes(gzip.compress(VTREE.encode()))
    (tmp_path / "plain.vtree").write_text(VTREE)
    assert _fields(load_any_vtree(tmp_path / "v.vtree")) == \
        _fields(load_any_vtree(tmp_path / "plain.vtree"))
    (tmp_path / "v.json").write_bytes(gzip.compress(b"[[0, 1], [2, 3]]"))
    (tmp_path / "plain.json").write_text("[[0, 1], [2, 3]]")
    assert _fields(load_any_vtree(tmp_path / "v.json")) == \
        _fields(load_any_vtree(tmp_path / "plain.json"))
    (tmp_path / "bad.vtree").write_bytes(b"\x1f\x8b\x08junk")
    with pytest.raises(FormatError, match=r"bad.vtree: corrupt gzip data"):
        load_any_vtree(tmp_path / "bad.vtree")


def _fields(vtree: object) -> tuple:
    return vtree.left, vtree.right, vtree.var  # type: ignore[attr-defined]


# -- pcc eval --vtree rejects what pcc check rejects ----------------------------------------
BAD_VTREES = [
    ("b9.vtree", b"\xb9", r"b9.vtree:1:1: not UTF-8 text \(byte 0xb9\)"),
    ("empty.vtree", b"", r"empty.vtree: empty vtree file \(expected a UCLA 'vtree N' header "
                         r"or JSON nested pairs\)"),
    ("object.json", b'{"a": 1}', r"object.json: a vtree is nested pairs of non-negative "
                                 r"variable indices"),
    ("syntax.json", b"[[0, 1], [2", r"syntax.json:1:12: not a JSON vtree"),
    ("digits.json", b"[0, " + b"9" * 5000 + b"]", r"digits.json: a number in the vtree is "
                                                  r"too long$"),
    ("huge.json", b"[0, 1048576]", r"huge.json: a vtree is nested pairs of non-negative "
                                   r"variable indices, each < 1048576, e.g. \[\[0, 1\], "
                                   r"\[2, 3\]\]$"),
    ("missing.vtree", None, r"missing.vtree: cannot read the vtree \(No such file or "
                            r"directory\)"),
    ("folder.vtree", "dir", r"folder.vtree: cannot read the vtree \(Is a directory\)"),
    ("forward.vtree", b"vtree 3\nI 2 0 1\nL 0 1\nL 1 2\n", r"forward.vtree:2:5: unknown child id"),
]


@pytest.mark.parametrize("name, content, message", BAD_VTREES)
def test_eval_rejects_a_bad_vtree_as_check_does(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path, name: str, content: object,
                                                message: str) -> None:
    (tmp_path / "f.psdd").write_text(PSDD)
    (tmp_path / "d.data").write_text("1,1,0,1\n0,1,1,1\n")
    vtree = tmp_path / name
    if content == "dir":
        vtree.mkdir()
    elif isinstance(content, bytes):
        vtree.write_bytes(content)
    for command, extra in (("check", ()), ("eval", ("--data", tmp_path / "d.data",
                                                     "--backend", "reference"))):
        status, out, err = run(capsys, command, tmp_path / "f.psdd", "--vtree", vtree, *extra)
        assert status == 2 and out == "", (command, out)
        assert err.count("\n") == 1 and err.startswith(f"pcc {command}: error: "), err
        assert __import__("re").search(message, err), (command, err)


def test_eval_with_a_good_vtree_still_evaluates(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    (tmp_path / "f.psdd").write_text(PSDD)
    (tmp_path / "d.data").write_text("1,1,0,1\n")
    (tmp_path / "v.vtree").write_bytes(gzip.compress(VTREE.encode()))
    (tmp_path / "v.json").write_text("[[0, 1], [2, 3]]")
    for vtree in ("v.vtree", "v.json"):
        status, out, _ = run(capsys, "eval", tmp_path / "f.psdd", "--vtree", tmp_path / vtree,
                             "--data", tmp_path / "d.data", "--backend", "reference")
        assert status == 0 and "rows: 1" in out


# -- .pcc members that inflate far beyond what the header allows ----------------------------
def _pcc_members(tmp_path: Path) -> dict[str, bytes]:
    from pcc.frontends.psdd import read_psdd
    from pcc.io import save_pcc

    save_pcc(read_psdd("seed.psdd", text=PSDD), tmp_path / "seed.pcc")
    with zipfile.ZipFile(tmp_path / "seed.pcc") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _peak_bytes(load: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        load()
    except FormatError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_a_member_that_inflates_beyond_its_offset_table_is_refused_before_inflating(
        tmp_path: Path) -> None:
    """values.npy followed by 32 MiB of zeros (a 32 KiB deflate stream): refused from its
    declared size, using far less memory than the member (the 1.7 GiB case took 3.6 GB)."""
    from pcc.io import load_circuit

    members = _pcc_members(tmp_path)
    members["values.npy"] += bytes(32 << 20)
    path = _rezip(tmp_path / "bomb.pcc", members)
    assert path.stat().st_size < 100_000
    with pytest.raises(FormatError, match=r"bomb.pcc: values.npy declares 33554\d\d\d bytes "
                                          r"where value_start.npy allows at most 65\d\d\d "
                                          r"\(the file is damaged\)$"):
        load_circuit(path)
    assert _peak_bytes(lambda: load_circuit(path)) < 4 << 20


def test_a_padded_header_is_refused(tmp_path: Path) -> None:
    """header.json padded with spaces (the same JSON content, so its checksum matches): beyond
    what the header of this circuit may declare it is refused before inflating; within it,
    once read, for being far larger than its content (it used to load as valid)."""
    from pcc.io import load_circuit

    members = _pcc_members(tmp_path)
    header = members["header.json"]
    members["header.json"] = header + b" " * (65 << 20)
    path = _rezip(tmp_path / "padded.pcc", members)
    with pytest.raises(FormatError, match=r"padded.pcc: header.json declares 6815\d{4} bytes "
                                          r"where a header for kind.npy's \d+ bytes allows at "
                                          r"most 67\d{6} \(the file is damaged\)$"):
        load_circuit(path)
    assert _peak_bytes(lambda: load_circuit(path)) < 4 << 20
    members["header.json"] = header + b" " * (1 << 20)
    path = _rezip(tmp_path / "padded.pcc", members)
    with pytest.raises(FormatError, match=r"padded.pcc: header.json is 10\d{5} bytes for \d+ "
                                          r"bytes of content \(padded: the file is damaged\)$"):
        load_circuit(path)
    members["header.json"] = header.replace(b"\n", b"\n   ")  # re-indented by hand: fine
    load_circuit(_rezip(tmp_path / "indented.pcc", members))


# -- a .psdd cut at a line boundary ---------------------------------------------------------
CUT = PSDD[:PSDD.index("D 10")]  # the root is now D 8: variables 0 and 1 of 4
CUT_LINES = (r"pcc: .*cut.psdd: the root \(line 13, the last node line\) does not reach 6 of "
             r"the 11 node lines, 1 of them sums or products; they are ignored \(is the file "
             r"cut short\?\)")
CUT_VARS = (r"pcc: .*cut.psdd: the root \(line 13, the last node line\) depends on 2 of the 4 "
            r"variables, not on 2-3 \(0-based columns\)")


@pytest.mark.parametrize("command", ["check", "info", "eval"])
def test_a_cut_psdd_is_read_with_a_warning(capsys: pytest.CaptureFixture[str],
                                            caplog: pytest.LogCaptureFixture, tmp_path: Path,
                                            command: str) -> None:
    """On the `pcc` logger: stderr from the command line (pytest captures it here)."""
    (tmp_path / "cut.psdd").write_text(CUT)
    (tmp_path / "d.data").write_text("1,1,0,1\n")
    extra = ("--data", tmp_path / "d.data", "--backend", "reference") if command == "eval" \
        else ()
    with caplog.at_level("WARNING", logger="pcc"):
        status, out, _ = run(capsys, command, tmp_path / "cut.psdd", *extra)
    assert status == 0 and out
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert __import__("re").fullmatch(CUT_LINES, lines[0]), lines[0]
    assert __import__("re").fullmatch(CUT_VARS, lines[1]), lines[1]


def test_unreached_leaf_lines_alone_and_whole_files_are_quiet(
        caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    """UCLA PSDDs list literals that nothing uses (nltcs.clt.psdd: 14 of 75 lines): no word."""
    from pcc.frontends.psdd import read_psdd
    from pcc.io import load_circuit

    with caplog.at_level("WARNING", logger="pcc"):
        read_psdd("whole.psdd", text=PSDD)
        read_psdd("leaf.psdd", text=PSDD.replace("psdd 11\n", "psdd 12\nL 99 0 -1\n"))
        (tmp_path / "cut.psdd").write_text(CUT)
        load_circuit(tmp_path / "cut.psdd")  # the line-by-line reader says the same
    assert [r.getMessage().split(": ", 2)[2][:40] for r in caplog.records] == \
        ["the root (line 13, the last node line) d"] * 2


def test_the_checking_psdd_reader_warns_as_the_fast_one(caplog: pytest.LogCaptureFixture) -> None:
    from pcc.frontends.psdd import _read_checked

    with caplog.at_level("WARNING", logger="pcc"):
        _read_checked("cut.psdd", CUT, None, None)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert __import__("re").fullmatch(CUT_LINES, messages[0]), messages
    assert __import__("re").fullmatch(CUT_VARS, messages[1]), messages


# -- Libra headers that declare huge domains ------------------------------------------------
def _ac(sizes: str, indicated: int) -> str:
    """A Libra AC: a sum over `indicated` indicators of variable 0 times one over variable 1."""
    lines = [f"({sizes})"] + [f"v 0 {i}" for i in range(indicated)]
    lines += ["+ " + " ".join(map(str, range(indicated))), "v 1 0", "v 1 1",
              f"+ {indicated + 1} {indicated + 2}", f"* {indicated} {indicated + 3}", "EOF"]
    return "\n".join(lines) + "\n"


def test_a_huge_declared_domain_is_narrowed_to_the_values_used(
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    """1 KB declaring 2^20 values with 100 indicators: eval took 3.5 GB (a leaf table as wide
    as the domain per indicator); read as categorical(100), with a warning."""
    from pcc.frontends.libra_ac import load_libra_ac
    from pcc.ir import Domain

    path = tmp_path / "huge.ac"
    path.write_text(_ac("1048576 2", 100))
    with caplog.at_level("WARNING", logger="pcc"):
        circuit = load_libra_ac(path)
    assert circuit.domains[0] == Domain("categorical", 100)
    assert [r.getMessage() for r in caplog.records] == [
        f"pcc: {path}: 102 indicators over domains of up to 1048576 values would make tables "
        "of 106954752 entries; the domains of variables 0 (1048576 -> 100) are narrowed to the "
        "values the file uses (larger values in the data are errors)"]
    (tmp_path / "d.data").write_text("5,1\n99,0\n")
    status, out, _ = run(capsys, "eval", path, "--data", tmp_path / "d.data")
    assert status == 0 and "rows with probability zero: 0" in out
    (tmp_path / "d.data").write_text("5,1\n200,0\n")
    status, _, err = run(capsys, "eval", path, "--data", tmp_path / "d.data")
    assert status == 2 and "d.data:2:1: column 0 (x0) holds 200.0, outside the domain " \
        "categorical(100)" in err


def test_declared_domains_within_the_budget_are_kept(caplog: pytest.LogCaptureFixture) -> None:
    """Libra declares what the data schema had: a value no indicator names is a row of
    probability zero, as in Libra, wherever that costs little."""
    from pcc.frontends.libra_ac import load_libra_ac
    from pcc.ir import Domain

    with caplog.at_level("WARNING", logger="pcc"):
        circuit = load_libra_ac("small.ac", text=_ac("30570 2", 3))
    assert circuit.domains[0] == Domain("categorical", 30570) and not caplog.records


def test_msweb_ac_with_one_domain_changed_to_30570(caplog: pytest.LogCaptureFixture,
                                                   tmp_path: Path) -> None:
    """The 72 KB case of the issue (1 GB to evaluate): variable 0 uses values 0 and 1."""
    from pcc.frontends.libra_ac import load_libra_ac
    from tests.frontend_data import circuit_path

    source = circuit_path("libra/msweb/msweb-ac.ac")  # skips where ../shared/data is absent
    head, rest = source.read_text().split("\n", 1)
    path = tmp_path / "msweb-ac.ac"
    path.write_text(head.replace("(2 ", "(30570 ", 1) + "\n" + rest)
    with caplog.at_level("WARNING", logger="pcc"):
        circuit = load_libra_ac(path)
    assert circuit.num_vars == 294 and circuit.domains[0].size == 2
    assert "the domains of variables 0 (30570 -> 2) are narrowed" in caplog.records[0].getMessage()
