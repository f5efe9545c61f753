"""The files the fuzz test mutates: small circuits of every format that pcc writes itself (or
that are written inline here), so the test runs without shared data, plus shipped circuits from
../shared/data/circuits where present. Each seed loads its mutants through
`pcc.io.load_circuit`, so suffix detection and content sniffing are fuzzed too."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from pcc.frontends.jpc import format_jpc
from pcc.frontends.psdd import read_psdd
from pcc.frontends.spflow_writer import format_equation
from pcc.io import load_circuit, save_pcc
from pcc.ir import Circuit
from tests.frontend_data import CIRCUITS
from tests.fuzz_engine import Seed

PSDD = """c a 4-variable PSDD
psdd 11
L 0 0 1
L 2 1 2
L 4 2 3
L 6 3 4
L 1 0 -1
L 3 1 -2
L 5 2 -3
L 7 3 -4
D 9 5 2 4 6 -1.6094379124341003 5 7 -0.2231435513142097
T 11 1 2 -0.5
D 8 4 2 0 2 -0.6931471805599453 1 11 -0.6931471805599453
D 10 6 1 8 9 0.0
"""
VTREE = """vtree 7
L 0 1
L 1 2
L 2 3
L 3 4
I 4 0 1
I 5 2 3
I 6 4 5
"""
PCJL = """(2 2 2)
v 0 0
v 0 1
v 1 0
v 1 1
v 2 0
v 2 1
+ 0 -0.2 1 -1.7
+ 2 -0.9 3 -0.5
* 6 7 4
* 6 7 5
+ 8 -0.1 9 -2.3
EOF
"""
AC = """(2 3)
n 0.25
v 0 0
* 0 1
n 0.75
v 0 1
* 3 4
+ 2 5
v 1 0
v 1 1
v 1 2
n 2.0
* 8 10
+ 11 7 9
* 6 12
EOF
"""
SPAC = """spac
5
n 0 + -1
1 2
-0.356675 -1.203973
0 1
n 1 ac 0
0 1
n 2 * 0
3 4
0 1
n 3 ac 2
0
n 4 ac 2
1
"""
SPAC_LEAVES = {"spac-1.ac": "(2 2)\nv 0 0\nv 0 1\nv 1 0\nv 1 1\n+ 0 1\n+ 2 3\n* 4 5\nEOF\n",
               "spac-3.ac": "(2)\nn 0.3\nv 0 0\n* 0 1\nn 0.7\nv 0 1\n* 3 4\n+ 2 5\nEOF\n",
               "spac-4.ac": "(2)\nv 0 0\nv 0 1\n+ 0 1\nEOF\n"}


def _file(name: str, data: bytes, suffix: str, format: str | None = None,
          **options: object) -> Seed:
    return Seed(name, data, lambda p: load_circuit(p, format=format, **options), suffix,
                zipped=suffix == ".pcc")


def _libra_dir(name: str, source: Path, member: str) -> Seed:
    """A Libra model directory whose `member` file is mutated (a fresh copy per case)."""
    def place(folder: Path, mutant: bytes) -> Path:
        model = folder / "model.spn"
        if model.exists():
            shutil.rmtree(model)
        shutil.copytree(source, model)
        (model / member).chmod(0o644)
        (model / member).write_bytes(mutant)
        return model
    return Seed(name, (source / member).read_bytes(), load_circuit, place=place)


def own_seeds(folder: Path) -> list[Seed]:
    """Small circuits of every format, written here (`folder` keeps the Libra directory and
    the vtree)."""
    (folder / "seed.vtree").write_text(VTREE)
    vtree = folder / "seed.vtree"
    circuit: Circuit = read_psdd("seed.psdd", vtree, text=PSDD)
    model = folder / "seed.spn"
    model.mkdir(exist_ok=True)
    (model / "spac.m").write_text(SPAC)
    for leaf, text in SPAC_LEAVES.items():
        (model / leaf).write_text(text)
    pcc_file = folder / "seed.pcc"
    save_pcc(circuit, pcc_file)
    from pcc.frontends.spflow_writer import format_graph

    return [
        _file("own .psdd + .vtree", PSDD.encode(), ".psdd", vtree=vtree),
        _file("own .psdd", PSDD.encode(), ".psdd"),
        Seed("own .vtree", VTREE.encode(), _load_vtree, ".vtree"),
        Seed("own --vtree .vtree", VTREE.encode(), _load_any_vtree, ".vtree"),
        Seed("own --vtree JSON", b"[[0, 1],\n [2, 3]]\n", _load_any_vtree, ".json"),
        _file("own .jpc", format_jpc(circuit).encode(), ".jpc"),
        _file("own PC.jl .spn", PCJL.encode(), ".spn"),
        _file("own Libra .ac", AC.encode(), ".ac"),
        _libra_dir("own Libra .spn spac.m", model, "spac.m"),
        _libra_dir("own Libra .spn leaf", model, "spac-1.ac"),
        _file("own SPFlow ref graph", format_graph(circuit).encode(), ".spn"),
        _file("own SPFlow equation", format_equation(circuit).encode(), ".txt", "spflow_eq"),
        Seed("own .pcc", pcc_file.read_bytes(), load_circuit, ".pcc", zipped=True,
             same_as=circuit),
    ]


def shared_seeds() -> list[Seed]:
    """Shipped circuits of every format (empty when ../shared/data is absent)."""
    if not CIRCUITS.is_dir():
        return []
    c = CIRCUITS
    nips5 = c / "spflow_text/NIPS5/structure.spn"
    out = [
        _file("little_4var.psdd + vtree", (c / "psdd/little_4var.psdd").read_bytes(), ".psdd",
              vtree=c / "psdd/little_4var.vtree"),
        _file("nltcs.clt.psdd", (c / "psdd/nltcs.clt.psdd").read_bytes(), ".psdd"),
        _file("nltcs.10split.psdd + vtree", (c / "psdd/nltcs.10split.psdd").read_bytes(),
              ".psdd", vtree=c / "psdd/nltcs.vtree"),
        Seed("plants.vtree", (c / "psdd/plants.vtree").read_bytes(), _load_vtree, ".vtree"),
        _file("mnist .jpc (head)", _jpc_head(c / "jpc/mnist_cats8_181.jpc", 400), ".jpc"),
        _file("mnist PC.jl .spn (head)", _head(c / "pcjl_spn/mnist_cats8_181.spn", 300,
                                               b"EOF\n"), ".spn"),
        _file("model19 spac-11.ac", (c / "libra/inference_model19/model19.spn/spac-11.ac")
              .read_bytes(), ".ac"),
        _file("alarm-test2.ac", (c / "libra/alarm_acbn/alarm-test2.ac").read_bytes(), ".ac"),
        _libra_dir("nltcs model1.spn spac.m", c / "libra/nltcs_idspn/model1.spn", "spac.m"),
        _libra_dir("model19.spn spac.m", c / "libra/inference_model19/model19.spn", "spac.m"),
        _file("NIPS5 SPFlow ref graph", nips5.read_bytes(), ".spn"),
        _file("NLTCS_200 SPFlow ref graph", (c / "spflow_text/NLTCS_200/structure.spn")
              .read_bytes(), ".spn"),
        _file("NIPS5 SPFlow equation", format_equation(load_circuit(nips5)).encode(), ".txt",
              "spflow_eq"),
    ]
    return out


def _head(path: Path, lines: int, tail: bytes = b"") -> bytes:
    data = path.read_bytes().split(b"\n")[:lines]
    return b"\n".join(data) + b"\n" + tail


def _jpc_head(path: Path, lines: int) -> bytes:
    """The first node lines of a .jpc, with the header's count made to match."""
    import re

    data = _head(path, lines)
    nodes = sum(1 for line in data.split(b"\n")[1:] if line[:1] in b"LICBGPS" and line.strip())
    return re.sub(rb"(?m)^jpc \d+", b"jpc %d" % nodes, data, count=1)


def _load_vtree(path: Path) -> object:
    from pcc.frontends.vtree_file import load_vtree

    return load_vtree(path)


def _load_any_vtree(path: Path) -> object:
    """What `--vtree FILE` reads: a UCLA .vtree or JSON nested pairs, by the first bytes."""
    from pcc.frontends.vtree_json import load_any_vtree

    return load_any_vtree(path)


SeedList = Callable[[Path], list[Seed]]
