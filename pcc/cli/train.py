"""Train a circuit on data and save it as a .pcc file: a new region-graph circuit (EiNet,
RAT-SPN, HCLT), or one read from a file (a PSDD, an SPFlow model, a .pcc) to fine-tune.

    pcc train --structure rat --data nltcs.train.data.gz --valid nltcs.valid.data.gz \\
        --test nltcs.test.data.gz --units 16 --epochs 20 --em -o nltcs.pcc
    pcc train --structure pd --data mnist/ --test mnist/ --units 10 --epochs 5 -o mnist.pcc
    pcc train --init nltcs.psdd --data nltcs.train.data.gz --valid nltcs.valid.data.gz \\
        --epochs 3 -o nltcs.pcc          # full-batch EM, pseudo-count 0.5; best epoch kept
    pcc train --init nltcs.psdd --mle --data nltcs.train.data.gz -o nltcs.pcc
    pcc train --init model.ac --passes prune,normalize --data train.data --epochs 5 -o m.pcc
    torchrun --nproc-per-node 2 -m pcc.cli.main train --distributed ...   # docs/distributed.md

Data: comma-separated .data[.gz] files (NaN, '?' or empty = missing), IDX files, or a folder of
MNIST-style IDX files (--data reads its train split, --valid/--test its t10k split).
"""

from __future__ import annotations

import argparse
import re
import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from pcc.data import DataFile
    from pcc.ir import Circuit
    from pcc.learn import History

# pcc.regions.policy.STRUCTURES, spelled out: importing pcc.regions loads networkx (0.24 s)
# into every pcc command, since the parser is built for all of them (a test keeps them equal)
STRUCTURES = ("rat", "pd", "qt", "hclt", "chain")
# the options that describe a new region-graph circuit: not used with --init
STRUCTURE_OPTIONS = ("units", "input_units", "leaf", "sum_product", "depth", "shape")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    start = parser.add_mutually_exclusive_group(required=True)
    start.add_argument("--structure", choices=STRUCTURES,
                       help="a new region graph: RAT-SPN, Poon-Domingos, quad-tree, HCLT, chain")
    start.add_argument("--init", metavar="FILE",
                       help="start from this circuit file (any format pcc reads) instead")
    parser.add_argument("--format", help="--init: the file's format (default: from its name)")
    parser.add_argument("--passes", metavar="P1,P2",
                        help="transforms applied to the circuit before training, in order "
                             "(pcc.transforms: e.g. prune,normalize)")
    parser.add_argument("--data", required=True, metavar="TRAIN", help="training data")
    parser.add_argument("--valid", metavar="V", help="validation data (early stopping)")
    parser.add_argument("--test", metavar="T", help="test data (reported at the end)")
    parser.add_argument("--valid-fraction", type=float, default=0.0,
                        help="hold out this share of TRAIN for validation when --valid is unset")
    parser.add_argument("--limit", type=int, help="use only the first N training rows")
    parser.add_argument("--units", "-K", type=int, help="units per region (with --structure)")
    parser.add_argument("--input-units", type=int, help="units per leaf (default: --units)")
    parser.add_argument("--leaf", default=None,
                        choices=("bernoulli", "categorical", "binomial", "gaussian"),
                        help="input family (default: bernoulli for 0/1 data, binomial for pixels)")
    parser.add_argument("--sum-product", choices=("tucker", "cp"), default=None,
                        help="layer parameterization (default: cp for hclt, else tucker)")
    parser.add_argument("--depth", type=int, default=None, help="rat: split depth")
    parser.add_argument("--repetitions", type=int, default=10, help="rat: repetitions")
    parser.add_argument("--delta", default="7", help="pd: cut step(s), e.g. 7 or 4,7")
    parser.add_argument("--shape", help="image shape HxW for pd/qt (default: from IDX files)")
    parser.add_argument("--splits", type=int, default=2, choices=(2, 4), help="qt: patch splits")
    parser.add_argument("--binarize", type=float, help="x > threshold becomes 1 (e.g. 127)")
    method = parser.add_mutually_exclusive_group()
    method.add_argument("--em", dest="method", action="store_const", const="em",
                        help="EM (default)")
    method.add_argument("--adam", dest="method", action="store_const", const="adam",
                        help="Adam on the log-likelihood")
    method.add_argument("--mle", dest="method", action="store_const", const="mle",
                        help="closed-form maximum likelihood in one pass over complete data, for "
                             "a deterministic circuit (--init: PSDDs, many Libra ACs); "
                             "pseudo-count --prior (default 0.5)")
    parser.set_defaults(method="em")
    parser.add_argument("--epochs", type=int, help="training epochs (not with --mle)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="mini-batch size; 0 = full batch (default: 100; EM with --init: "
                             "0)")
    parser.add_argument("--step-size", type=float, default=0.1, help="online EM step size")
    parser.add_argument("--step-decay", type=float, default=1.0,
                        help="online EM: the step size shrinks by this factor per epoch")
    parser.add_argument("--prior", type=float, default=None,
                        help="EM pseudo-count added at every M-step (default: 1e-5 for "
                             "--structure, 0.5 for --init and --mle)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    parser.add_argument("--patience", type=int, default=5, help="early stopping patience")
    parser.add_argument("--time-limit", type=float, help="start no epoch after this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--device", default="cpu",
                        help="torch device: cpu (default), cuda or cuda:N")
    from pcc.cli.common import add_engine_argument

    add_engine_argument(parser)
    parser.add_argument("--checkpoint", help="checkpoint file (resumed from when it exists)")
    parser.add_argument("--checkpoint-every", type=int, metavar="N",
                        help="also checkpoint every N mini-batches (needs --checkpoint)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar, no epoch lines")
    parser.add_argument("--distributed", action="store_true",
                        help="one rank of a torchrun job: train data-parallel (docs/distributed.md)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="--distributed: seconds to wait for a silent rank before failing")
    parser.add_argument("-o", "--out", required=True,
                        help="the trained circuit (.pcc); the history goes beside it: "
                             "OUT.history.csv, and OUT.history.png with matplotlib")


# defaults that depend on the start: a new circuit trains with online EM and a tiny
# pseudo-count; a circuit from a file is fine-tuned by full-batch EM with pseudo-count 0.5
# (Adam: mini-batches of 100). Chosen on the 12 shipped UCLA PSDDs with twenty-dataset data
# (README, "Training"): online EM lowered every one's validation LL (nltcs -0.38, plants -2.7
# nats after one epoch); full-batch EM is the MLE there, best at pseudo-count 0.3-0.5
NEW_DEFAULTS: dict[str, float] = {"batch_size": 100, "prior": 1e-5}
# (pcc.learn.mle.MLE_PRIOR, spelled out: importing pcc.learn loads torch into every command's
# parser; a test keeps them equal)
INIT_DEFAULTS: dict[str, float] = {"batch_size": 0, "prior": 0.5}


def run(args: argparse.Namespace) -> int:
    from pcc.cli.common import UsageError

    _check_usage(args, UsageError)  # every argument, before any data is read
    device = _device(args.device, UsageError)
    return _train(args, device)


def _train(args: argparse.Namespace, device: str) -> int:
    import torch

    from pcc.backends.torch import compile
    from pcc.data import check_columns, hold_out, read_data
    from pcc.io import save_circuit
    from pcc.learn import LOCAL, TrainConfig, World, fit, mean_log_likelihood

    world: World = LOCAL
    if args.distributed:  # join first: a missing torchrun environment fails before any work
        from pcc.distributed import DistributedWorld, setup

        world = DistributedWorld(setup(timeout=args.timeout))
    first = _prepared(read_data(args.data, "train"), args, limit=args.limit)
    shape = first.image_shape
    held = [_prepared(read_data(path, "test"), args) if path else None
            for path in (args.valid, args.test)]
    circuit, what = _start_circuit(args, first.values, shape)
    for data in (first, *held):  # data that do not fit: an error naming file:line:column
        if data is not None:
            check_columns(data, circuit.domains)
    train, valid, test = first.values, *(None if d is None else d.values for d in held)
    if valid is None and args.valid_fraction > 0:
        train, valid = hold_out(train, args.valid_fraction, args.seed)
    if args.passes:
        from pcc.transforms import apply_passes

        circuit, reports = apply_passes(circuit, args.passes)
        for report in reports if world.leader else ():
            print(report.text())
    started = time.perf_counter()
    model = compile(circuit, dtype=getattr(torch, args.dtype),
                    device=world.device if args.distributed else device, engine=args.engine)
    defaults = INIT_DEFAULTS if args.init else NEW_DEFAULTS
    prior = defaults["prior"] if args.prior is None else args.prior
    if args.method == "mle":
        # the rows keep their file lines unless --valid-fraction shuffled them out
        lines = first.line_numbers if len(train) == first.rows else None
        history = _mle(model, train, valid, prior, args, (first.path, lines))
    else:
        batch_size = int(args.batch_size if args.batch_size is not None else
                         defaults["batch_size"] if args.method == "em" else
                         NEW_DEFAULTS["batch_size"])
        config = TrainConfig(method=args.method, epochs=args.epochs,
                             batch_size=batch_size or None, step_size=args.step_size,
                             step_decay=args.step_decay, prior=prior,
                             lr=args.lr, patience=args.patience, seed=args.seed,
                             checkpoint=args.checkpoint,
                             checkpoint_every=args.checkpoint_every,
                             progress=not args.no_progress, time_limit=args.time_limit,
                             # a circuit from a file is fine-tuned from its own parameters
                             init="model" if args.init else TrainConfig.init)
        history = fit(model, train, valid, config, world)
    seconds = time.perf_counter() - started
    if world.leader:  # with --distributed, rank 0 writes and prints
        save_circuit(model.to_circuit(), args.out)
        kept = "" if not history.valid else \
            f"; kept epoch {history.best_epoch + 1} (best validation LL)"
        epochs = len(history.train)
        print(f"{what} {len(circuit)} groups, {circuit.num_units} units; {epochs} "
              f"epoch{'s' if epochs != 1 else ''}{' (converged)' if history.converged else ''} in "
              f"{seconds:.1f} s on the {model.engine} engine{kept}; wrote {args.out}")
        _write_history(history, args.out)
    for name, rows in (("train", train), ("valid", valid), ("test", test)):
        if rows is not None:
            ll = mean_log_likelihood(model, rows, world=world)  # each rank its block
            if world.leader:
                bpd = -ll / rows.shape[1] / np.log(2)
                print(f"{name} log-likelihood {ll:.4f} nats/example ({bpd:.4f} bits/dim)")
    if args.distributed:
        from pcc.distributed import shutdown

        shutdown()
    return 0


def _prepared(data: DataFile, args: argparse.Namespace, limit: int | None = None) -> DataFile:
    """`data` cut to its first `limit` rows and binarized as asked, each row keeping its line
    number (for errors that name `file:line`)."""
    from dataclasses import replace

    from pcc.data import binarize, unweighted

    values = unweighted(data)
    if limit is not None:
        values = values[:limit]
    if args.binarize is not None:
        values = binarize(values, args.binarize)
    return replace(data, values=values, line_numbers=data.line_numbers[:len(values)])


def _mle(model: torch.nn.Module, train: np.ndarray, valid: np.ndarray | None, prior: float,
         args: argparse.Namespace, source: tuple[str, np.ndarray | None]) -> History:
    """--mle: the closed-form estimate, kept when it does not lower the validation LL.
    `source`: the training file and each row's line there (None: not known)."""
    import copy

    from pcc.ir.errors import FormatError
    from pcc.learn import History, mean_log_likelihood
    from pcc.learn.mle import IncompleteDataError, NotDeterministicError, mle
    from pcc.learn.progress import Progress

    began = time.perf_counter()
    history = History(start_valid=None if valid is None else mean_log_likelihood(model, valid))
    start = copy.deepcopy(model.state_dict())
    history.start_seconds = time.perf_counter() - began
    path, lines = source
    try:
        start_ll = mle(model, train, prior=prior)
    except IncompleteDataError as error:  # named by its file line where the rows keep theirs
        if lines is None:
            raise
        raise FormatError(f"column {error.column} (x{error.column}) is missing: the "
                          f"closed-form MLE needs complete data ({error.count} missing values); "
                          "train with EM instead (--em --batch-size 0)", path,
                          int(lines[error.row])) from None
    except NotDeterministicError as error:
        if lines is None:
            raise
        raise FormatError("the closed-form MLE needs a circuit that is deterministic on the "
                          f"data: this row {error.detail}", path, int(lines[error.row])) from None
    # epoch 1's training LL, as EM's epochs: that of the pass over the rows, i.e. the start's
    history.start_train = start_ll
    history.train.append(start_ll)
    progress = Progress(not args.no_progress, 1)
    progress.end_epoch(-1, history.start_train, history.start_valid, history.start_seconds)
    if valid is not None:
        assert history.start_valid is not None
        history.valid.append(mean_log_likelihood(model, valid))
        if history.valid[0] > history.start_valid:
            history.best_epoch = 0
        else:  # the estimate is worse on validation data than the start: keep the start
            model.load_state_dict(start)
    history.seconds.append(time.perf_counter() - began - history.start_seconds)
    progress.end_epoch(0, history.train[0], history.valid[0] if history.valid else None,
                       history.seconds[0])
    return history


def _write_history(history: History, out: str) -> None:
    """OUT.history.csv, and OUT.history.png where matplotlib is installed (else a hint)."""
    from pcc.learn.curve import history_paths, plot_history, write_history

    table, picture = history_paths(out)
    write_history(history, table)
    hint = plot_history(history, picture)
    print(f"wrote {table}" + (f"; {hint}" if hint else f" and {picture}"))


def _device(name: str, error: type[Exception]) -> str:
    """--device: cpu, cuda or cuda:N, checked before any work."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?", name):
        raise error(f"--device: expected cpu, cuda or cuda:N, got {name!r}")
    if name == "cpu":
        return name
    import torch

    if not torch.cuda.is_available():
        raise error(f"--device {name}: CUDA is not available here (no GPU found, or torch "
                    "built without CUDA); use --device cpu")
    index, count = int(name.partition(":")[2] or 0), torch.cuda.device_count()
    if index >= count:
        raise error(f"--device {name}: there are {count} CUDA devices (cuda:0 to "
                    f"cuda:{count - 1})")
    return name


# (option, lowest allowed value, whether the bound itself is allowed): numeric checks of
# `_check_usage`, one argparse-style line each
BOUNDS = (("units", 1, True), ("input_units", 1, True), ("epochs", 1, True),
          ("batch_size", 0, True), ("lr", 0, False), ("prior", 0, True),
          ("repetitions", 1, True), ("depth", 1, True), ("seed", 0, True),
          ("time_limit", 0, False), ("limit", 1, True), ("patience", 0, True),
          ("valid_fraction", 0, True), ("step_decay", 0, False), ("timeout", 0, False),
          ("checkpoint_every", 1, True))


SEED_MAX = 2 ** 63 - 1


def _check_usage(args: argparse.Namespace, error: type[Exception]) -> None:
    import math
    import os

    for name, low, inclusive in BOUNDS:
        value = getattr(args, name, None)
        if value is None:
            continue
        flag = f"--{name.replace('_', '-')}"
        if isinstance(value, float) and not math.isfinite(value):
            raise error(f"{flag}: expected a finite number, got {value}")
        if value < low or (value == low and not inclusive):
            raise error(f"{flag} must be {'>=' if inclusive else '>'} {low}, got {value}")
    if args.seed > SEED_MAX:  # torch.manual_seed's limit (a traceback beyond it)
        raise error(f"--seed must be at most 2^63-1, got {args.seed}")
    if not 0 < args.step_size <= 1:
        raise error(f"--step-size must lie in (0, 1], got {args.step_size}")
    if not args.valid_fraction < 1:
        raise error(f"--valid-fraction must be below 1, got {args.valid_fraction}")
    if args.shape is not None and not re.fullmatch(r"[1-9]\d*(x[1-9]\d*)*", args.shape.lower()):
        raise error(f"--shape: expected HxW in pixels, e.g. 28x28, got {args.shape!r}")
    if not re.fullmatch(r"[1-9]\d*(,[1-9]\d*)*", args.delta):
        raise error(f"--delta: expected positive cut steps, e.g. 7 or 4,7, got {args.delta!r}")
    if args.method == "mle":
        given = [flag for flag, value in (("--epochs", args.epochs),
                                          ("--batch-size", args.batch_size),
                                          ("--checkpoint", args.checkpoint),
                                          ("--distributed", args.distributed or None))
                 if value is not None]
        if given:
            raise error(f"{', '.join(given)}: options of iterative training, not of --mle "
                        "(one pass over the data)")
        if not args.init:
            raise error("--mle estimates the parameters of a circuit read with --init FILE")
    elif args.epochs is None:
        raise error("the following arguments are required: --epochs")
    if args.checkpoint_every is not None and not args.checkpoint:
        raise error("--checkpoint-every needs --checkpoint FILE")
    if args.distributed and args.device != "cpu":
        raise error("--device: with --distributed each rank uses the device torchrun gives it "
                    "(docs/distributed.md)")
    if args.init:
        given = [f"--{name.replace('_', '-')}" for name in STRUCTURE_OPTIONS
                 if getattr(args, name) is not None]
        if given:
            raise error(f"{', '.join(given)}: options of a new --structure, not of --init")
    elif args.format:
        raise error("--format names the format of the --init file")
    elif args.units is None:
        raise error("--structure needs --units K")
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise error(f"-o {args.out}: no folder {folder} to write it in")
    if not os.access(folder, os.W_OK):
        raise error(f"-o {args.out}: the folder {folder} is not writable")
    if os.path.isdir(args.out):
        raise error(f"-o {args.out}: a folder; name the .pcc file to write")


def _start_circuit(args: argparse.Namespace, train: np.ndarray, shape: tuple[int, ...] | None
                   ) -> tuple[Circuit, str]:
    """(the circuit to train, what to call it): read from --init, or built by --structure."""
    from pcc.io import load_circuit
    from pcc.regions.policy import StructureSpec, circuit_for_data

    if args.init:
        return load_circuit(args.init, format=args.format), args.init
    spec = StructureSpec(
        args.structure, units=args.units, input_units=args.input_units, leaf=args.leaf,
        sum_product=args.sum_product, depth=args.depth, repetitions=args.repetitions,
        deltas=tuple(int(d) for d in args.delta.split(",")), splits=args.splits, seed=args.seed,
        shape=tuple(int(s) for s in args.shape.lower().split("x")) if args.shape else None)
    return circuit_for_data(spec, train, shape), args.structure
