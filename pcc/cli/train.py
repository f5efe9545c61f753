"""Train a region-graph circuit (EiNet, RAT-SPN, HCLT) on data and save it as a .pcc file.

    pcc train --structure rat --data nltcs.train.data.gz --valid nltcs.valid.data.gz \\
        --test nltcs.test.data.gz --units 16 --epochs 20 --em -o nltcs.pcc
    pcc train --structure pd --data mnist/ --test mnist/ --units 10 --epochs 5 -o mnist.pcc
    torchrun --nproc-per-node 2 -m pcc.cli.main train --distributed ...   # docs/distributed.md

Data: comma-separated .data[.gz] files (NaN, '?' or empty = missing), IDX files, or a folder of
MNIST-style IDX files (--data reads its train split, --valid/--test its t10k split).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

STRUCTURES = ("rat", "pd", "qt", "hclt", "chain")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--structure", choices=STRUCTURES, required=True,
                        help="region graph: RAT-SPN, Poon-Domingos, quad-tree, HCLT, chain")
    parser.add_argument("--data", required=True, metavar="TRAIN", help="training data")
    parser.add_argument("--valid", metavar="V", help="validation data (early stopping)")
    parser.add_argument("--test", metavar="T", help="test data (reported at the end)")
    parser.add_argument("--valid-fraction", type=float, default=0.0,
                        help="hold out this share of TRAIN for validation when --valid is unset")
    parser.add_argument("--limit", type=int, help="use only the first N training rows")
    parser.add_argument("--units", "-K", type=int, required=True, help="units per region")
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--distributed", action="store_true",
                        help="one rank of a torchrun job: train data-parallel (docs/distributed.md)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="--distributed: seconds to wait for a silent rank before failing")
    parser.add_argument("--checkpoint-every", type=int, metavar="N",
                        help="--distributed: also checkpoint every N mini-batches")
    parser.add_argument("-o", "--out", required=True, help="the trained circuit (.pcc)")


def run(args: argparse.Namespace) -> int:
    import torch

    from pcc.backends.torch import compile
    from pcc.io import save_circuit
    from pcc.ir.errors import PccError
    from pcc.learn import TrainConfig, fit, mean_log_likelihood
    from pcc.learn.datasets import read_data

    if args.checkpoint_every is not None and not args.distributed:
        raise PccError("--checkpoint-every works with --distributed only")
    group = None
    if args.distributed:  # join first: a missing torchrun environment fails before any work
        from pcc.distributed import setup

        group = setup(timeout=args.timeout)
    train, shape = read_data(args.data, "train")
    valid = read_data(args.valid, "test")[0] if args.valid else None
    test = read_data(args.test, "test")[0] if args.test else None
    if args.limit:
        train = train[: args.limit]
    if valid is None and args.valid_fraction > 0:
        order = np.random.default_rng(args.seed).permutation(len(train))
        cut = len(train) - int(round(args.valid_fraction * len(train)))
        train, valid = train[order[:cut]], train[order[cut:]]
    if args.binarize is not None:
        train = _binarize(train, args.binarize)
        valid = None if valid is None else _binarize(valid, args.binarize)
        test = None if test is None else _binarize(test, args.binarize)
    circuit = _structure_circuit(args, train, shape)
    started = time.perf_counter()
    model = compile(circuit, dtype=getattr(torch, args.dtype),
                    device=None if group is None else group.device)
    config = TrainConfig(method=args.method, epochs=args.epochs,
                         batch_size=args.batch_size or None, step_size=args.step_size,
                         step_decay=args.step_decay,
                         prior=TrainConfig.prior if args.prior is None else args.prior,
                         lr=args.lr, patience=args.patience, seed=args.seed,
                         checkpoint=args.checkpoint, progress=not args.no_progress,
                         time_limit=args.time_limit, distributed=group is not None)
    if group is None:
        history = fit(model, train, valid, config)
    else:
        from pcc.distributed import DistOptions, fit_distributed

        options = DistOptions(timeout=args.timeout, checkpoint_every=args.checkpoint_every)
        history = fit_distributed(model, train, valid, config, options)
    seconds = time.perf_counter() - started
    leader = group is None or group.leader  # with --distributed, rank 0 writes and prints
    if leader:
        save_circuit(model.to_circuit(), args.out)
        print(f"{args.structure} {len(circuit)} groups, {circuit.num_units} units; "
              f"{len(history.train)} epochs in {seconds:.1f} s; wrote {args.out}")
    for name, rows in (("train", train), ("valid", valid), ("test", test)):
        if rows is not None:
            ll = mean_log_likelihood(model, rows) if group is None else \
                _shared_mean_log_likelihood(model, rows, group)
            if not leader:
                continue
            bpd = -ll / rows.shape[1] / np.log(2)
            print(f"{name} log-likelihood {ll:.4f} nats/example ({bpd:.4f} bits/dim)")
    if group is not None:
        from pcc.distributed import shutdown

        shutdown()
    return 0


def _shared_mean_log_likelihood(model, rows: np.ndarray, group) -> float:  # type: ignore[no-untyped-def]
    """Mean log-likelihood of `rows` with each rank evaluating its shard (the same on all)."""
    from pcc.distributed import Shard, mean_log_likelihood

    return mean_log_likelihood(model, Shard.of(rows, group), group)


def _binarize(data: np.ndarray, threshold: float) -> np.ndarray:
    return np.where(np.isnan(data), np.nan, (data > threshold).astype(np.float64))


def _structure_circuit(args: argparse.Namespace, train: np.ndarray,
                       shape: tuple[int, ...] | None):  # type: ignore[no-untyped-def]
    """The region graph named by --structure, built into a circuit for this data."""
    from pcc.ir import BINARY, DataError, categorical
    from pcc.regions import (build_circuit, hclt, linear_chain, poon_domingos, quad_tree,
                             random_binary_trees)

    num_vars = train.shape[1]
    observed = train[~np.isnan(train)]
    top = int(observed.max()) if observed.size else 1
    if np.any(observed != np.round(observed)) or np.any(observed < 0):
        leaf, domains = args.leaf or "gaussian", None
    else:
        leaf = args.leaf or ("bernoulli" if top <= 1 else "binomial")
        size = 2 if top <= 1 else top + 1
        if leaf == "bernoulli" and top > 1:
            raise DataError(f"bernoulli leaves need 0/1 data, the training data reach {top}")
        domains = [BINARY if size == 2 else categorical(size)] * num_vars
    if args.shape:
        shape = tuple(int(s) for s in args.shape.lower().split("x"))
    if args.structure in ("pd", "qt") and (shape is None or int(np.prod(shape)) != num_vars):
        raise DataError(f"--structure {args.structure} needs an image shape with {num_vars} "
                        "pixels (--shape HxW)")
    if args.structure == "rat":
        depth = args.depth or max(1, min(5, int(np.log2(max(num_vars, 2)))))
        graph = random_binary_trees(num_vars, depth, args.repetitions, seed=args.seed)
    elif args.structure == "pd":
        deltas = [int(d) for d in args.delta.split(",")]
        graph = poon_domingos(shape, deltas)  # type: ignore[arg-type]
    elif args.structure == "qt":
        graph = quad_tree(shape, args.splits)  # type: ignore[arg-type]
    elif args.structure == "hclt":
        graph = hclt(train)
    else:
        graph = linear_chain(num_vars)
    default_sp = "cp" if args.structure in ("hclt", "chain") else "tucker"
    return build_circuit(graph, units=args.units, input_units=args.input_units, leaf=leaf,
                         sum_product=args.sum_product or default_sp, seed=args.seed,
                         domains=domains, cp_leaf_sums=args.structure != "hclt")
