"""Train a circuit on data and save it as a .pcc file: a new region-graph circuit (EiNet,
RAT-SPN, HCLT), or one read from a file (a PSDD, an SPFlow model, a .pcc) to fine-tune.

    pcc train --structure rat --data nltcs.train.data.gz --valid nltcs.valid.data.gz \\
        --test nltcs.test.data.gz --units 16 --epochs 20 --em -o nltcs.pcc
    pcc train --structure pd --data mnist/ --test mnist/ --units 10 --epochs 5 -o mnist.pcc
    pcc train --init nltcs.psdd --data nltcs.train.data.gz --epochs 5 --em -o nltcs.pcc
    pcc train --init model.ac --passes prune,normalize --data train.data --epochs 5 -o m.pcc
    torchrun --nproc-per-node 2 -m pcc.cli.main train --distributed ...   # docs/distributed.md

Data: comma-separated .data[.gz] files (NaN, '?' or empty = missing), IDX files, or a folder of
MNIST-style IDX files (--data reads its train split, --valid/--test its t10k split).
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pcc.ir import Circuit

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
    parser.set_defaults(method="em")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=100,
                        help="mini-batch size; 0 = full batch")
    parser.add_argument("--step-size", type=float, default=0.1, help="online EM step size")
    parser.add_argument("--step-decay", type=float, default=1.0,
                        help="online EM: the step size shrinks by this factor per epoch")
    parser.add_argument("--prior", type=float, default=None,
                        help="EM pseudo-count added at every M-step (default: TrainConfig's, 1e-5)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    parser.add_argument("--patience", type=int, default=5, help="early stopping patience")
    parser.add_argument("--time-limit", type=float, help="start no epoch after this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--checkpoint", help="checkpoint file (resumed from when it exists)")
    parser.add_argument("--checkpoint-every", type=int, metavar="N",
                        help="also checkpoint every N mini-batches (needs --checkpoint)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--distributed", action="store_true",
                        help="one rank of a torchrun job: train data-parallel (docs/distributed.md)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="--distributed: seconds to wait for a silent rank before failing")
    parser.add_argument("-o", "--out", required=True, help="the trained circuit (.pcc)")


def run(args: argparse.Namespace) -> int:
    import torch

    from pcc.backends.torch import compile
    from pcc.cli.common import UsageError
    from pcc.data import binarize, hold_out, read_data, unweighted
    from pcc.io import save_circuit
    from pcc.learn import LOCAL, TrainConfig, World, fit, mean_log_likelihood

    _check_usage(args, UsageError)
    world: World = LOCAL
    if args.distributed:  # join first: a missing torchrun environment fails before any work
        from pcc.distributed import DistributedWorld, setup

        world = DistributedWorld(setup(timeout=args.timeout))
    first = read_data(args.data, "train")
    train, shape = unweighted(first), first.image_shape
    valid = unweighted(read_data(args.valid, "test")) if args.valid else None
    test = unweighted(read_data(args.test, "test")) if args.test else None
    if args.limit:
        train = train[: args.limit]
    if valid is None and args.valid_fraction > 0:
        train, valid = hold_out(train, args.valid_fraction, args.seed)
    if args.binarize is not None:
        train = binarize(train, args.binarize)
        valid = None if valid is None else binarize(valid, args.binarize)
        test = None if test is None else binarize(test, args.binarize)
    circuit, what = _start_circuit(args, train, shape, valid, test)
    if args.passes:
        from pcc.transforms import apply_passes

        circuit, reports = apply_passes(circuit, args.passes)
        for report in reports if world.leader else ():
            print(report.text())
    started = time.perf_counter()
    model = compile(circuit, dtype=getattr(torch, args.dtype), device=world.device)
    config = TrainConfig(method=args.method, epochs=args.epochs,
                         batch_size=args.batch_size or None, step_size=args.step_size,
                         step_decay=args.step_decay,
                         prior=TrainConfig.prior if args.prior is None else args.prior,
                         lr=args.lr, patience=args.patience, seed=args.seed,
                         checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
                         progress=not args.no_progress, time_limit=args.time_limit,
                         # a circuit from a file is fine-tuned from its own parameters
                         init="model" if args.init else TrainConfig.init)
    history = fit(model, train, valid, config, world)
    seconds = time.perf_counter() - started
    if world.leader:  # with --distributed, rank 0 writes and prints
        save_circuit(model.to_circuit(), args.out)
        print(f"{what} {len(circuit)} groups, {circuit.num_units} units; "
              f"{len(history.train)} epochs in {seconds:.1f} s; wrote {args.out}")
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


def _check_usage(args: argparse.Namespace, error: type[Exception]) -> None:
    if args.checkpoint_every is not None and not args.checkpoint:
        raise error("--checkpoint-every needs --checkpoint FILE")
    if args.init:
        given = [f"--{name.replace('_', '-')}" for name in STRUCTURE_OPTIONS
                 if getattr(args, name) is not None]
        if given:
            raise error(f"{', '.join(given)}: options of a new --structure, not of --init")
    elif args.format:
        raise error("--format names the format of the --init file")
    elif args.units is None:
        raise error("--structure needs --units K")


def _start_circuit(args: argparse.Namespace, train: np.ndarray, shape: tuple[int, ...] | None,
                   *held_out: np.ndarray | None) -> tuple[Circuit, str]:
    """(the circuit to train, what to call it): read from --init, or built by --structure."""
    from pcc.data import check_data
    from pcc.io import load_circuit
    from pcc.regions.policy import StructureSpec, circuit_for_data

    if args.init:
        circuit = load_circuit(args.init, format=args.format)
        for rows in (train, *held_out):  # data that do not fit: an error naming row and column
            if rows is not None:
                check_data(rows, circuit.domains)
        return circuit, args.init
    spec = StructureSpec(
        args.structure, units=args.units, input_units=args.input_units, leaf=args.leaf,
        sum_product=args.sum_product, depth=args.depth, repetitions=args.repetitions,
        deltas=tuple(int(d) for d in args.delta.split(",")), splits=args.splits, seed=args.seed,
        shape=tuple(int(s) for s in args.shape.lower().split("x")) if args.shape else None)
    return circuit_for_data(spec, train, shape), args.structure
