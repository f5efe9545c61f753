"""Arguments and reading shared by the commands that take a circuit file (check, info, eval,
convert, viz): `add_circuit_arguments(parser)` and `read_circuit(args)`; also `read_vtree`
(`--vtree FILE`), the backend options of eval, mpe and sample (`add_backend_arguments`,
`backend_of`)."""

from __future__ import annotations

import argparse

from pcc.backends.batched import BACKENDS, DTYPES, ENGINES, Backend
from pcc.ir import Circuit, PccError, Vtree


def add_circuit_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE and `--format` (one of `pcc.io.FORMATS`, a fixed table)."""
    from pcc.io import FORMATS

    parser.add_argument("file", metavar="FILE", help="the circuit file")
    parser.add_argument("--format", choices=list(FORMATS), default=None,
                        help="the file's format (default: from its name)")


def read_circuit(args: argparse.Namespace) -> Circuit:
    """The circuit named by `args.file` in `args.format`; bad input raises a PccError."""
    from pcc.frontends.vtree_json import is_ucla_vtree
    from pcc.io import load_circuit
    from pcc.io.formats import choose_format

    options = {}
    vtree = getattr(args, "vtree", None)
    if vtree and is_ucla_vtree(vtree) and choose_format(args.file, args.format)[0] == "psdd":
        options["vtree"] = vtree  # the PSDD reader checks every node's vtree id against it
    return load_circuit(args.file, format=args.format, **options)


def budget_of(args: argparse.Namespace) -> int:
    """`--determinism-budget` (default: the analysis' own); a negative value is misuse."""
    from pcc.analysis.determinism import BUDGET

    budget = getattr(args, "determinism_budget", None)
    if budget is None:
        return BUDGET
    if budget < 0:
        raise UsageError(f"--determinism-budget must be >= 0, got {budget}")
    return int(budget)


class UsageError(PccError):
    """A command was given an argument it cannot use (exit status 2, like bad input)."""


def read_vtree(path: str) -> Vtree:
    """`--vtree FILE`: a JSON vtree or a UCLA `.vtree` (`pcc.frontends.vtree_json`)."""
    from pcc.frontends.vtree_json import load_any_vtree

    return load_any_vtree(path)


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """--backend, --dtype and --device (eval, mpe, sample)."""
    parser.add_argument("--backend", choices=BACKENDS, default="torch",
                        help="what evaluates the circuit: the compiled torch module (default) "
                             "or the float64 reference interpreter")
    parser.add_argument("--dtype", choices=DTYPES, default="float64",
                        help="torch backend precision (default float64)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda "
                        "(torch backend; default cpu)")
    add_engine_argument(parser)


def add_engine_argument(parser: argparse.ArgumentParser) -> None:
    """--engine (the torch backend's: eval, mpe, sample, train, info)."""
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="torch backend engine: native (runtime-built C, CPU), torch "
                             "(torch ops, any device) or auto (default: native on the CPU "
                             "where a C compiler is found)")


def backend_of(args: argparse.Namespace) -> Backend:
    """The `Backend` the options name (its device checked up front for torch)."""
    backend = Backend(args.backend, args.dtype, args.device,
                      allow_invalid=getattr(args, "allow_invalid", False), engine=args.engine)
    if backend.name == "torch":
        backend.torch_device()
        backend.resolved_engine()
    return backend


def refuse_invalid(circuit: Circuit, path: str, need: str, opt_out: str = "") -> None:
    """A UsageError (one line) when `circuit` is not smooth and decomposable: the first
    violation, how many more, and the way out on the command line (`pcc check --fix` where
    smoothing repairs it, then `opt_out` if given); `need` names what needs a valid PC."""
    from pcc.analysis import decomposability, smoothness

    report = smoothness(circuit).merge(decomposability(circuit))
    if report.valid:
        return
    # the violation that decides the way out first: a decomposability one when there is one
    first = (report.of("decomposability") or report.violations)[0]
    more = len(report.violations) - 1
    extra = f" (and {more} more violation{'s' * (more > 1)})" if more else ""
    if report.decomposable:
        way_out = f"`pcc check {path} --fix -o FIXED.pcc` repairs it (smooth)"
    else:
        way_out = (f"no pcc pass repairs decomposability (`pcc check {path}` lists the "
                   "violations)")
    raise UsageError(f"{path} is not a valid PC (smooth and decomposable), which {need} "
                     f"needs: {first.message}{extra}; {way_out}"
                     + (f"; {opt_out}" if opt_out else ""))
