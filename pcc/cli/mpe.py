"""Fill the missing entries of a data file with their MPE (most probable explanation) values.

    pcc mpe model.pcc --data test.csv -o completed.csv

Data are read as by `pcc eval`: comma-separated rows, gzipped or not, or .npy; `*`, `?`, empty
and `nan` mark the missing entries to fill. Observed entries are kept. The output is a CSV with
one row per input row (a header line when the input had one). MPE is max-product: exact on
deterministic circuits (PSDDs, many Libra ACs; the summary says whether the circuit was proved
deterministic), the usual max-product approximation otherwise. The circuit must be smooth and
decomposable. Exit status 0, or 2 for bad input.
"""

from __future__ import annotations

import argparse

import numpy as np

from pcc.cli.common import (add_backend_arguments, add_circuit_arguments, backend_of,
                            read_circuit, refuse_invalid)
from pcc.cli.options import output_file
from pcc.ir import Circuit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("--data", required=True, metavar="DATA", help="rows to complete")
    parser.add_argument("-o", "--out", required=True, metavar="OUT.csv", type=output_file,
                        help="completed rows")
    add_backend_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from pcc.backends.batched import mpe
    from pcc.data import check_columns, read_data
    from pcc.io.csv_rows import write_csv_rows

    backend = backend_of(args)
    circuit = read_circuit(args)
    refuse_invalid(circuit, args.file, "MPE")
    data = read_data(args.data)
    values = check_columns(data, circuit.domains)
    states, best = mpe(circuit, values, backend)
    write_csv_rows(args.out, states, circuit.domains, data.header)
    print(f"{args.file} on {args.data} ({backend.describe()}): {len(states)} rows, "
          f"{int(np.isnan(values).sum())} missing entries filled; wrote {args.out}")
    print(_exactness(circuit))
    finite = np.isfinite(best)
    if finite.any():
        print(f"mean max-product log-value: {float(best[finite].mean())!r}")
    if not finite.all():
        print(f"rows whose evidence has probability zero: {int((~finite).sum())}")
    return 0


def _exactness(circuit: Circuit) -> str:
    from pcc.analysis import determinism

    if determinism(circuit).deterministic == "yes":
        return "exact MPE (the circuit is proved deterministic)"
    return "max-product approximation (the circuit is not proved deterministic)"
