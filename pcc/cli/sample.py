"""Draw samples from a circuit, unconditionally or given evidence, into a CSV file.

    pcc sample model.pcc -n 1000 --seed 0 -o samples.csv
    pcc sample model.pcc -n 10 --evidence half-images.csv -o completions.csv

Without --evidence, N independent draws. With --evidence (read as by `pcc eval`; `*`, `?`, empty
and `nan` mark the entries to sample), N completions of each evidence row drawn from
p(missing | observed), the N copies of the first row first; observed entries are kept. The same
--seed gives the same samples (on the same device). Gaussian, binomial, Poisson and histogram
leaves draw from their distributions. The circuit must be smooth and decomposable; evidence of
probability zero is an error naming its file and line. Exit status 0, or 2 for bad input.
"""

from __future__ import annotations

import argparse

from typing import TYPE_CHECKING

import numpy as np

from pcc.cli.common import (UsageError, add_backend_arguments, add_circuit_arguments, backend_of,
                            read_circuit, refuse_invalid)
from pcc.cli.options import int_at_least, output_file, seed

if TYPE_CHECKING:
    from pcc.backends.batched import Backend
    from pcc.ir import Circuit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("-n", "--num-samples", type=int_at_least(1), required=True, metavar="N",
                        help="samples (per evidence row with --evidence); at least 1")
    parser.add_argument("--evidence", metavar="DATA", help="rows to complete by sampling")
    parser.add_argument("--seed", type=seed, default=0,
                        help="random seed, 0 to 2^63-1 (default: 0)")
    parser.add_argument("-o", "--out", required=True, metavar="OUT.csv", type=output_file,
                        help="the samples")
    add_backend_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from pcc.backends.batched import sample
    from pcc.data import check_columns, read_data
    from pcc.io.csv_rows import write_csv_rows

    backend = backend_of(args)
    circuit = read_circuit(args)
    refuse_invalid(circuit, args.file, "sampling")
    header = None
    if args.evidence:
        data = read_data(args.evidence)
        rows = check_columns(data, circuit.domains)
        _refuse_impossible(args, circuit, rows, data.line_numbers, backend)
        evidence = np.repeat(rows, args.num_samples, axis=0)
        header = data.header
    else:
        evidence = np.full((args.num_samples, circuit.num_vars), np.nan)
    draws = sample(circuit, evidence, backend, args.seed)
    write_csv_rows(args.out, draws, circuit.domains, header)
    given = f" given {args.evidence}" if args.evidence else ""
    print(f"{args.file}: {len(draws)} samples{given} ({backend.describe()}, seed "
          f"{args.seed}); wrote {args.out}")
    return 0


def _refuse_impossible(args: argparse.Namespace, circuit: Circuit, rows: np.ndarray,
                       lines: np.ndarray, backend: Backend) -> None:
    """Evidence of probability zero named by file and 1-based line, before the draws (the
    backends can only name a row of the repeated copies); one pass over the evidence rows."""
    from pcc.backends.batched import log_likelihoods

    zero = np.flatnonzero(np.isneginf(log_likelihoods(circuit, rows, backend)))
    if len(zero):
        raise UsageError(f"{args.evidence}:{int(lines[zero[0]])}: this evidence has probability "
                         f"zero under {args.file} ({len(zero)} such row{'s' * (len(zero) > 1)}): "
                         "there is nothing to sample from")
