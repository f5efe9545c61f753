"""Evaluate a circuit's log-likelihood on a data file.

Prints the mean log-likelihood (natural log, per row), the number of rows, and how many rows have
probability zero (their log-likelihood is -inf; the mean over the finite rows is printed too).
Data: comma-separated rows, gzipped or not, or .npy; `*`, `?`, empty and `nan` mark missing
values (marginalized); Libra `weight|` prefixes give a weighted mean as well.
The circuit must be smooth and decomposable (`pcc check FILE --fix -o FIXED.pcc` smooths it)
with either backend, unless --allow-invalid: its function is then evaluated as it is.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from pcc.cli.common import (add_backend_arguments, add_circuit_arguments, backend_of,
                            read_circuit, read_vtree, refuse_invalid)
from pcc.cli.options import PER_EXAMPLE_FORMATS, int_at_least, per_example_file

def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("--data", required=True, metavar="DATA", help="the data file")
    add_backend_arguments(parser)
    parser.add_argument("--batch-size", type=int_at_least(1), default=10000, metavar="N",
                        help="rows per torch call (default 10000; each call runs in passes "
                             "of bounded memory whatever N is)")
    parser.add_argument("--vtree", metavar="FILE", help="a .vtree to check a .psdd against")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--per-example", metavar="OUT", type=per_example_file,
                        help="save each row's log-likelihood (float64, -inf for zero rows): "
                             "OUT.npy as a numpy array, OUT.txt or OUT.csv as text, one a line")
    parser.add_argument("--allow-invalid", action="store_true",
                        help="evaluate a circuit that is not smooth and decomposable (its "
                             "values are then its function's, not a distribution's)")


def summary(ll: np.ndarray, weights: np.ndarray | None) -> dict[str, Any]:
    """Mean, finite mean, zero-probability rows (and the weighted mean with Libra weights)."""
    finite = np.isfinite(ll)
    zero = np.flatnonzero(~finite)
    out: dict[str, Any] = {
        "rows": int(len(ll)),
        "mean_log_likelihood": float(ll.mean()) if len(ll) else None,
        "zero_probability_rows": int(len(zero)),
        "zero_probability_row_indices": zero[:100].tolist(),
        "mean_over_finite_rows": float(ll[finite].mean()) if finite.any() else None,
    }
    if weights is not None:
        total = weights.sum()
        with np.errstate(invalid="ignore"):
            out["weighted_mean_log_likelihood"] = (
                float(np.sum(np.where(weights > 0, weights * ll, 0.0)) / total) if total > 0
                else None)
    return out


def write_per_example(path: str, ll: np.ndarray) -> None:
    """`path` exactly as named: .npy a float64 array, .txt/.csv one value a line (17 digits,
    so the text reads back to the same float64; -inf for zero rows)."""
    from pathlib import Path

    if PER_EXAMPLE_FORMATS[Path(path).suffix.lower()] == "npy":
        with open(path, "wb") as file:  # a file object: np.save adds no second suffix
            np.save(file, ll)
    else:
        np.savetxt(path, ll, fmt="%.17g")


def run(args: argparse.Namespace) -> int:
    from pcc.backends.batched import log_likelihoods
    from pcc.data import check_columns, read_data

    backend = backend_of(args)
    circuit = read_circuit(args)
    if args.vtree:  # read_circuit reads only a UCLA vtree of a .psdd: reject what check does
        read_vtree(args.vtree)
    if not args.allow_invalid:  # the reference would evaluate it silently: refuse as torch does
        refuse_invalid(circuit, args.file, "evaluating it",
                       "or pass --allow-invalid to evaluate its function as it is")
    data = read_data(args.data)
    values = check_columns(data, circuit.domains)
    ll = log_likelihoods(circuit, values, backend, args.batch_size)
    if args.per_example:
        write_per_example(args.per_example, ll)
    result = summary(ll, data.weights)
    # the file lines of those rows (1-based; headers and blank lines make them differ)
    result["zero_probability_lines"] = [
        int(data.line_numbers[i]) for i in result["zero_probability_row_indices"]]
    if args.json:
        shown = {k: (v if not isinstance(v, float) or np.isfinite(v) else str(v))
                 for k, v in result.items()}  # JSON has no -inf: write it as the string "-inf"
        dtype = "float64" if backend.name == "reference" else backend.dtype
        print(json.dumps({"file": args.file, "data": args.data, "backend": backend.name,
                          "dtype": dtype, **shown}, indent=1))
        return 0
    print(f"{args.file} on {args.data} ({backend.describe()})")
    print(f"rows: {result['rows']}")
    print(f"mean log-likelihood: {result['mean_log_likelihood']!r}")
    zeros = result["zero_probability_rows"]
    print(f"rows with probability zero: {zeros}")
    if zeros:
        shown_rows = ", ".join(str(i) for i in result["zero_probability_row_indices"][:10])
        print(f"  rows (0-based): {shown_rows}{' ...' if zeros > 10 else ''}")
        shown_lines = ", ".join(str(i) for i in result["zero_probability_lines"][:10])
        print(f"  lines of {args.data}: {shown_lines}{' ...' if zeros > 10 else ''}")
        print(f"mean over the {result['rows'] - zeros} finite rows: "
              f"{result['mean_over_finite_rows']!r}")
    if data.weights is not None:
        print(f"rows carry Libra weights: weighted mean log-likelihood "
              f"{result['weighted_mean_log_likelihood']!r}")
    if data.header is not None:
        print(f"skipped a header line of {len(data.header)} column names")
    return 0
