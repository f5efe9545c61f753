"""Fuzzing every reader with seeded mutations of real files (tests/fuzz_engine.py): byte flips,
truncation, duplicated/deleted/swapped lines, numbers -> nan/inf/huge integers, junk tokens,
gzip-looking bytes, corrupted zip members. Every case must end in a loaded circuit or pcc's own
one-line error naming the file (and line:col where there is one), within a time linear in the
file's size; a `.pcc` that loads must hold exactly the original circuit. Then a corpus of
minimized reproducers of the defects the fuzzer found (tests/fuzz_corpus/).

PCC_FUZZ_CASES=N runs N cases per seed (default: 30 for pcc's own small files, 12 for the
shared circuits) for a longer soak.
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcc.io import load_circuit, save_pcc
from pcc.ir import FormatError, PccError
from tests.fuzz_engine import CliError, Seed, check_case, cli_check, mutate
from tests.fuzz_seeds import PSDD, own_seeds, shared_seeds

CORPUS = Path(__file__).parent / "fuzz_corpus"
CASES = os.environ.get("PCC_FUZZ_CASES")
OUTCOMES: Counter[tuple[str, str]] = Counter()


def _limit(seed: Seed, folder: Path) -> float:
    """CPU seconds a mutant may take: 1 s plus 20x the unmutated file's load (mutants are no
    bigger than about twice the seed, and a linear reader stays far below this)."""
    path = seed.write(folder, seed.data)
    best = float("inf")
    for _ in range(2):
        start = time.process_time()
        seed.load(path)
        best = min(best, time.process_time() - start)
    return 1.0 + 20 * best


def _fuzz(seed: Seed, cases: int, folder: Path) -> Counter[str]:
    limit = _limit(seed, folder)
    rng = random.Random(f"pcc fuzz {seed.name}")
    counts: Counter[str] = Counter()
    for _ in range(cases):
        mutant, ops = mutate(seed.data, rng, seed.zipped)
        counts[check_case(seed, mutant, ops, folder, limit)] += 1
    for outcome, n in counts.items():
        OUTCOMES[(seed.name, outcome)] += n
    return counts


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Seed]:
    return {s.name: s for s in own_seeds(tmp_path_factory.mktemp("seeds"))}


OWN = ["own .psdd + .vtree", "own .psdd", "own .vtree", "own --vtree .vtree",
       "own --vtree JSON", "own .jpc", "own PC.jl .spn",
       "own Libra .ac", "own Libra .spn spac.m", "own Libra .spn leaf", "own SPFlow ref graph",
       "own SPFlow equation", "own .pcc"]
SHARED = [s.name for s in shared_seeds()]


@pytest.mark.parametrize("name", OWN)
def test_fuzz_own_files(name: str, own: dict[str, Seed], tmp_path: Path) -> None:
    counts = _fuzz(own[name], int(CASES or 30), tmp_path)
    assert counts["ok"] + counts["error"] == sum(counts.values())
    assert counts["error"] > 0  # the mutations do damage


@pytest.mark.skipif(not SHARED, reason="../shared/data is absent")
@pytest.mark.parametrize("name", SHARED or ["none"])
def test_fuzz_shared_circuits(name: str, tmp_path: Path) -> None:
    seed = {s.name: s for s in shared_seeds()}[name]
    slow = seed.place is not None  # a Libra directory: dozens of leaf files per load
    counts = _fuzz(seed, int(CASES or (4 if slow else 12)), tmp_path)
    assert counts["ok"] + counts["error"] == sum(counts.values())


@pytest.mark.parametrize("name", ["own .psdd", "own .jpc", "own Libra .spn spac.m",
                                  "own SPFlow equation", "own .pcc"])
def test_fuzz_cli_exit_status(name: str, own: dict[str, Seed], tmp_path: Path) -> None:
    """`pcc check` on mutants: exit 0/1/2, with its one-line error on stderr for 2."""
    seed = own[name]
    extra = ("--format", "spflow_eq") if "equation" in name else ()
    cli = Seed(seed.name + " (pcc check)", seed.data, lambda p: cli_check(p, *extra),
               seed.suffix, seed.zipped, seed.place)
    _fuzz(cli, int(CASES or 6), tmp_path)


def test_fuzz_eval_vtree_exit_status(own: dict[str, Seed], tmp_path: Path) -> None:
    """`pcc eval F.psdd --vtree MUTANT` (UCLA and JSON vtrees): the number, or the one-line
    error `pcc check` gives for the same vtree (it used to ignore a vtree it could not read)."""
    import contextlib

    from pcc.cli.main import main

    (tmp_path / "f.psdd").write_text(PSDD)
    (tmp_path / "d.data").write_text("1,1,0,1\n0,1,1,1\n")

    def status(command: str, vtree: Path) -> tuple[int, str]:
        extra = ["--data", str(tmp_path / "d.data"), "--backend", "reference"] \
            if command == "eval" else []
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main([command, str(tmp_path / "f.psdd"), "--vtree", str(vtree), *extra])
        return code, err.getvalue().strip().split(": error: ", 1)[-1]

    def eval_as_check(vtree: Path) -> int:
        code, message = status("eval", vtree)
        check_code, check_message = status("check", vtree)
        assert code == check_code or code == 0 and check_code == 1, (code, check_code)
        if code == 2:
            assert message == check_message
            raise CliError(message)
        return code

    for name in ("own --vtree .vtree", "own --vtree JSON"):
        seed = own[name]
        cli = Seed(seed.name + " (pcc eval --vtree)", seed.data, eval_as_check, seed.suffix)
        _fuzz(cli, int(CASES or 8), tmp_path)


class _Kept(logging.Handler):
    """Keeps the records it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_fuzz_psdd_cut_at_every_line_is_an_error_or_says_so(tmp_path: Path) -> None:
    """A .psdd cut at a line boundary loads as a smaller valid circuit. Where the lines left
    still name every variable, the reader must warn (unreached lines, variables the root does
    not depend on); where they name fewer (a PSDD does not declare its variables), data of the
    whole circuit's width is refused by the column check."""
    from pcc.data import check_data
    from pcc.frontends.psdd import read_psdd

    texts = [("own.psdd", PSDD)] + [(s.name, s.data.decode()) for s in shared_seeds()
                                    if s.name.startswith("nltcs.10split")]
    for name, text in texts:
        whole = read_psdd(name, text=text)
        lines = text.splitlines(keepends=True)
        for cut in range(1, len(lines)):
            handler = _Kept()
            records = handler.records
            logging.getLogger("pcc").addHandler(handler)
            try:
                part = read_psdd(name, text="".join(lines[:cut]))
            except FormatError:
                continue
            finally:
                logging.getLogger("pcc").removeHandler(handler)
            if part.num_vars < whole.num_vars:
                with pytest.raises(PccError, match="column"):
                    check_data(np.zeros((1, whole.num_vars)), part.domains)
            elif len(part) != len(whole):
                assert records, f"{name} cut after line {cut}: loaded silently"


def test_fuzz_summary() -> None:
    """Prints the outcome counts per seed of the fuzz tests that ran (pytest -s shows them)."""
    for (name, outcome), n in sorted(OUTCOMES.items()):
        print(f"fuzz: {name}: {outcome} {n}")


# -- the corpus: minimized reproducers of defects the fuzzer found --------------------------
CORPUS_ERRORS = [
    ("huge_literal.psdd", {}, r"huge_literal.psdd:2:7: the literal is too long for a number|"
                              r"huge_literal.psdd:2:7: the literal must be <= 1048576"),
    ("huge_variable.psdd", {}, r"huge_variable.psdd:2:7: the variable must be <= 1048576"),
    ("huge_variable.vtree", {}, r"huge_variable.vtree:2:5: the variable must be <= 1048576"),
    ("not_utf8.vtree", {}, r"not_utf8.vtree:3:5: not UTF-8 text \(byte 0xff\)"),
    ("one_byte.vtree", {}, r"one_byte.vtree:1:1: not UTF-8 text \(byte 0xb9\)"),
    ("not_gzip.psdd", {}, r"not_gzip.psdd: corrupt gzip data"),
    ("not_gzip.spn", {}, r"not_gzip.spn: corrupt gzip data"),
    ("huge_trials.jpc", {}, r"huge_trials.jpc:3:9: the number of trials must be <= 1048575"),
    ("huge_domain.ac", {}, r"huge_domain.ac:1:4: a domain size must be <= 1048576"),
    ("huge_feature.txt", {"format": "spflow_eq"}, r"huge_feature.txt:1:12: unknown feature name"),
]


@pytest.mark.parametrize("name, options, message", CORPUS_ERRORS)
def test_corpus_reproducers(name: str, options: dict, message: str) -> None:
    path = CORPUS / name
    if name.endswith(".vtree"):  # read as `--vtree FILE` reads it (UCLA or JSON)
        from pcc.frontends.vtree_json import load_any_vtree

        with pytest.raises(FormatError, match=message):
            load_any_vtree(path)
        return
    with pytest.raises(FormatError, match=message):
        load_circuit(path, **options)


CORPUS_WARNINGS = [
    ("cut_at_a_line.psdd", [r"cut_at_a_line.psdd: the root \(line 13, the last node line\) does "
                            r"not reach 6 of the 11 node lines, 1 of them sums or products",
                            r"cut_at_a_line.psdd: the root \(line 13, the last node line\) "
                            r"depends on 2 of the 4 variables, not on 2-3 \(0-based columns\)"]),
    ("huge_declared_domain.ac", [r"huge_declared_domain.ac: 102 indicators over domains of up "
                                 r"to 1048576 values would make tables of 106954752 entries; the "
                                 r"domains of variables 0 \(1048576 -> 100\) are narrowed"]),
]


@pytest.mark.parametrize("name, messages", CORPUS_WARNINGS)
def test_corpus_loads_with_warnings(name: str, messages: list[str],
                                    caplog: pytest.LogCaptureFixture) -> None:
    """Files that load, but not as what their author meant: each says so on the pcc logger."""
    import re

    with caplog.at_level("WARNING", logger="pcc"):
        load_circuit(CORPUS / name)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == len(messages) and all(re.search(m, t) for m, t in zip(messages, said)), \
        said


def _pcc_bytes(tmp_path: Path) -> tuple[bytes, object]:
    from pcc.frontends.psdd import read_psdd

    circuit = read_psdd("seed.psdd", text=PSDD)
    save_pcc(circuit, tmp_path / "c.pcc")
    return (tmp_path / "c.pcc").read_bytes(), circuit


def test_corpus_pcc_member_damage(tmp_path: Path) -> None:
    """A flipped bit in a member's deflate data (zlib.error escaped), a member rewritten with a
    valid zip CRC but other numbers (loaded silently), a truncated archive."""
    data, _ = _pcc_bytes(tmp_path)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("children.npy")
        members = {n: archive.read(n) for n in archive.namelist()}
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    flipped = bytearray(data)
    flipped[start + 2] ^= 0x10
    path = tmp_path / "bad.pcc"
    path.write_bytes(bytes(flipped))
    with pytest.raises(FormatError, match=r"bad.pcc: children.npy is damaged"):
        load_circuit(path)
    values = np.load(io.BytesIO(members["values.npy"]))
    values[0] = 0.25 if values[0] != 0.25 else 0.5
    buffer = io.BytesIO()
    np.save(buffer, values)
    members["values.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(FormatError, match=r"array values.npy does not match its checksum"):
        load_circuit(path)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"bad.pcc: not a .pcc file or truncated"):
        load_circuit(path)
    header = json.loads(members["header.json"])
    assert set(header["crc32"]) == {"header"} | {n for n in members if n.endswith(".npy")}


def test_corpus_long_digit_run_is_not_quadratic() -> None:
    """20,000 digits then a letter: the number pattern backtracked through every split."""
    from pcc.frontends.spflow_text import load_spflow_text

    text = "(0.5*(Bernoulli(V0|p=" + "9" * 20000 + "x)) + 0.5*(Bernoulli(V0|p=0.5)))"
    start = time.process_time()
    with pytest.raises(FormatError, match=r"f.txt:1:\d+: unexpected character"):
        load_spflow_text("f.txt", text=text)
    assert time.process_time() - start < 1.0


def test_corpus_one_line_equation_reads_in_linear_time() -> None:
    """An equation is one line: origins used to count newlines from the start for every node."""
    from pcc.frontends.spflow_text import _Tokens

    text = "\n".join(["(0.5*(Bernoulli(V0|p=0.2)) +", " 0.5*(Bernoulli(V0|p=0.7)))"])
    tokens = _Tokens(text, "f")
    assert [tokens.line_of(off) for _, _, off in tokens.items[:1] + tokens.items[-3:]] == \
        [1, 2, 2, 2]


# -- the data file reader (a text format too): token-level mutations ------------------------
JUNK = ["", "0", "-1", "1", "2", "x", "1e999", "nan", "inf", "-inf", "0.5", "*", "?", ",", "|"]
FUZZ = settings(max_examples=int(CASES or 60), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def _mutated(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["del", "dup", "trunc", "junk"]))
        if op == "del":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "trunc":
            lines = lines[:i] + [lines[i][:draw(st.integers(0, len(lines[i])))]]
        else:
            tokens = lines[i].split(" ")
            tokens[draw(st.integers(0, len(tokens) - 1))] = draw(st.sampled_from(JUNK))
            lines[i] = " ".join(tokens)
    return "\n".join(lines) + "\n"


def test_fuzz_data_file(tmp_path: Path) -> None:
    from pcc.data import check_columns, read_data
    from pcc.ir import BINARY

    path = tmp_path / "d.data"

    @FUZZ
    @given(_mutated("1 0 * 1\n0.5|0 1 ? 0\n1 1 nan 0\n0 0 0 0\n"))
    def run(text: str) -> None:
        path.write_text(text.replace(" ", ","))
        try:
            check_columns(read_data(path), [BINARY] * 4)
        except PccError:
            pass

    run()
