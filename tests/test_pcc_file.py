"""The .pcc file: exact round trips, and a clear error for every kind of damage."""

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from pcc.io import load_circuit, load_pcc, save_circuit, save_pcc
from pcc.ir import BINARY, CircuitBuilder, FormatError, from_networkx, to_networkx
from tests.helpers import assert_same_circuit
from tests.strategies import circuits

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(circuits())
def test_round_trip_is_exact(tmp_path, circuit):
    path = tmp_path / "c.pcc"
    save_pcc(circuit, path)
    assert_same_circuit(load_pcc(path), circuit)


@SETTINGS
@given(circuits())
def test_networkx_round_trip_is_exact(circuit):
    assert_same_circuit(from_networkx(to_networkx(circuit)), circuit)


def test_origins_survive_and_random_float64_bits_are_kept(tmp_path):
    b = CircuitBuilder([BINARY] * 3)
    weights = np.random.default_rng(1).dirichlet(np.ones(3))
    kids = [b.bernoulli(v, p=np.random.default_rng(v).random(), origin=f"f.psdd:{v}")
            for v in range(3)]
    b.sum([b.product(kids)], weights=[1.0])
    b2 = CircuitBuilder([BINARY])
    leaves = [b2.bernoulli(0, p=p) for p in (0.1, 0.2, 0.3)]
    b2.sum(leaves, weights=weights)
    for circuit in (b.build(), b2.build()):
        save_circuit(circuit, tmp_path / "c.pcc")
        loaded = load_circuit(tmp_path / "c.pcc")
        assert_same_circuit(loaded, circuit)
        assert [g.origin for g in loaded] == [g.origin for g in circuit]


def small_file(tmp_path):
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.product([b.bernoulli(0, [0.2, 0.4]), b.bernoulli(1, [0.5, 0.6])])],
          weights=[0.3, 0.7])
    path = tmp_path / "c.pcc"
    save_pcc(b.build(), path)
    return path


def rewrite(path, change, keep_crc=False):
    """Rewrite the zip at `path`, letting `change(name, bytes)` return new bytes or None.
    Unless `keep_crc`, the header's checksums are dropped first (as in a file written before
    pcc kept them), so that the checks behind them are reached."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    if not keep_crc:
        header = json.loads(members["header.json"])
        del header["crc32"]
        members["header.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            new = change(name, data)
            if new is not None:
                archive.writestr(name, new)


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array))
    return buffer.getvalue()


def test_truncated_file(tmp_path):
    path = small_file(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(FormatError, match=r"c\.pcc: not a \.pcc file or truncated"):
        load_pcc(path)


def test_garbage_file(tmp_path):
    path = tmp_path / "c.pcc"
    path.write_text("psdd 3\nL 0 0 1\n")
    with pytest.raises(FormatError, match="not a .pcc file"):
        load_pcc(path)


@pytest.mark.parametrize("change, message", [
    (lambda n, d: None if n == "units.npy" else d, "array units.npy is missing"),
    (lambda n, d: None if n == "header.json" else d, "header.json is missing"),
    (lambda n, d: b"{oops" if n == "header.json" else d, "header.json is not valid JSON"),
    (lambda n, d: json.dumps({**json.loads(d), "version": 9}).encode() if n == "header.json"
     else d, "unsupported .pcc version 9"),
    (lambda n, d: json.dumps({**json.loads(d), "format": "x"}).encode() if n == "header.json"
     else d, "header.json does not describe a pcc circuit"),
    (lambda n, d: json.dumps({**json.loads(d), "groups": 7}).encode() if n == "header.json"
     else d, "kind.npy has 4 entries, header says 7"),
    (lambda n, d: d[:-3] if n == "values.npy" else d, "array values.npy is damaged"),
    (lambda n, d: npy([0, 0, 0, 3, 2]) if n == "child_start.npy" else d,
     "child_start.npy is not a valid offset table"),
    (lambda n, d: npy([0, 9, 2]) if n == "children.npy" else d,
     "child refers to #9, which does not exist"),
    (lambda n, d: npy([0.2, 0.4, 0.5, 0.6, -0.3, 0.7]) if n == "values.npy" else d,
     "sum #3: weights must be finite and >= 0, got -0.3"),
    (lambda n, d: npy([0, 0, 5, 2]) if n == "kind.npy" else d, "group #2: unknown kind code 5"),
])
def test_damaged_content_is_named(tmp_path, change, message):
    path = small_file(tmp_path)
    rewrite(path, change)
    with pytest.raises(FormatError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_pcc(path)


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "c.xyz").write_text("not a circuit\n")
    with pytest.raises(FormatError, match="cannot tell the format"):
        load_circuit(tmp_path / "c.xyz")
    with pytest.raises(FormatError, match="absent.xyz: no such file .* --format"):
        load_circuit(tmp_path / "absent.xyz")
    with pytest.raises(FormatError, match="no such file"):
        load_circuit(tmp_path / "absent.pcc")


def test_files_without_checksums_still_load(tmp_path):
    path = small_file(tmp_path)
    before = load_pcc(path)
    rewrite(path, lambda n, d: d)
    assert_same_circuit(load_pcc(path), before)


@pytest.mark.parametrize("change, message", [
    # a forged or mixed-up member with a valid zip CRC: only the header's checksum catches it
    (lambda n, d: npy([0.2, 0.4, 0.5, 0.6, 0.4, 0.6]) if n == "values.npy" else d,
     "array values.npy does not match its checksum in header.json"),
    (lambda n, d: d.replace(b'"binary"', b'"categorical(2)"', 1) if n == "header.json" else d,
     "header.json does not match its checksum"),
])
def test_checksums_catch_valid_looking_damage(tmp_path, change, message):
    path = small_file(tmp_path)
    rewrite(path, change, keep_crc=True)
    with pytest.raises(FormatError, match=message.replace(".", r"\.")):
        load_pcc(path)


def test_every_flipped_bit_of_a_member_is_caught(tmp_path):
    """Bit flips inside the compressed bytes: the zip CRC (or inflate) must fail, never a load
    with other numbers (a flip in deflate's unused padding bits changes nothing)."""
    path = small_file(tmp_path)
    original, circuit = path.read_bytes(), load_pcc(path)
    caught = 0
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("values.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for offset in range(info.compress_size):
        for bit in (0, 3, 7):
            damaged = bytearray(original)
            damaged[start + offset] ^= 1 << bit
            path.write_bytes(bytes(damaged))
            try:
                assert_same_circuit(load_pcc(path), circuit)
            except FormatError as error:
                assert "values.npy is damaged" in str(error) or "does not match" in str(error)
                caught += 1
    assert caught >= 3 * info.compress_size - 3
