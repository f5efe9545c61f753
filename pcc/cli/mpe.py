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
from collections.abc import Sequence

import numpy as np

from pcc.cli.common import add_circuit_arguments, read_circuit
from pcc.ir import Circuit, Domain

BACKENDS = ("torch", "reference")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("--data", required=True, metavar="DATA", help="rows to complete")
    parser.add_argument("-o", "--out", required=True, metavar="OUT.csv", help="completed rows")
    add_backend_arguments(parser)


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """--backend, --dtype and --device, shared with `pcc sample`."""
    parser.add_argument("--backend", choices=BACKENDS, default="torch",
                        help="torch (default) or the float64 reference interpreter")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                        help="torch dtype (default: float64)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: cpu)")


def compiled(circuit: Circuit, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The torch model of `circuit` in --dtype on --device (UsageError for a device torch
    cannot use)."""
    import torch

    from pcc.backends.torch import compile
    from pcc.cli.common import UsageError

    try:
        device = torch.device(args.device)
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        raise UsageError(f"--device {args.device}: {str(error).splitlines()[0]}") from None
    return compile(circuit, dtype=getattr(torch, args.dtype), device=device)


def write_rows(path: str, values: np.ndarray, domains: Sequence[Domain],
               header: list[str] | None) -> None:
    """CSV rows: discrete variables as integers, real ones with full float64 precision, `nan`
    for entries left missing (variables outside the circuit's scope)."""
    text = np.char.mod("%.17g", values)
    discrete = np.array([d.discrete for d in domains], dtype=bool)
    finite = np.isfinite(values)
    as_int = np.char.mod("%d", np.where(finite, values, 0).astype(np.int64))
    text = np.where(discrete[None, :] & finite, as_int, np.where(finite, text, "nan"))
    lines = [",".join(row) for row in text.tolist()]
    if header is not None:
        lines.insert(0, ",".join(header))
    with open(path, "w") as f:
        f.write("\n".join(lines) + ("\n" if lines else ""))


def run(args: argparse.Namespace) -> int:
    from pcc.data import check_columns, read_data

    circuit = read_circuit(args)
    data = read_data(args.data)
    values = check_columns(data, circuit.domains)
    from pcc.backends.torch.mpe import check_valid

    check_valid(circuit)
    if args.backend == "reference":
        from pcc.backends.reference.queries import mpe as reference_mpe

        states, best = reference_mpe(circuit, values)
    else:
        from pcc.backends.torch.mpe import mpe

        result = mpe(compiled(circuit, args), values)
        states, best = result.states.cpu().numpy(), result.values.double().cpu().numpy()
    write_rows(args.out, states, circuit.domains, data.header)
    print(f"{args.file} on {args.data} ({args.backend} backend): {len(states)} rows, "
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
