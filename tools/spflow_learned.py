"""SPFlow-learned benchmark models (LearnSPN, SPFlow 0.0.48) on scikit-learn's small data sets.

    .venv/bin/python tools/spflow_learned.py      # learn and save them (minutes; done once)

Four models, each saved as SPFlow's own equation text (`spn_to_str_equation`, read back by
`str_to_spn`), gzipped, in tools/spflow_learned/ (20-26 KB each); benchmarked on the data they
were learned on (scikit-learn ships it):
- `bc-gauss`: breast cancer (569 rows, 30 real features), Gaussian leaves;
- `bc-mixed`: the same features, Gaussian leaves for 20 of them, the other 10 cut into 5
  quantile bins with categorical leaves, and the diagnosis (a Bernoulli leaf);
- `digits-bern`: digits (1,797 rows, 64 pixels of 0..16) thresholded at 8, Bernoulli leaves;
- `digits-cat`: the same pixels with their 17 values, categorical leaves.
SPFlow's `learn_parametric` imports a Poisson split test that needs statsmodels even where it
is not used; it is replaced by a stub here (pcc does not depend on statsmodels).
"""

from __future__ import annotations

import gzip
import sys
import types
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "spflow_learned"
MODELS = ("bc-gauss", "bc-mixed", "digits-bern", "digits-cat")
MIN_INSTANCES = {"bc-gauss": 20, "bc-mixed": 20, "digits-bern": 100, "digits-cat": 100}


def data(name: str) -> np.ndarray:
    """The float64 rows the model `name` was learned on (and is benchmarked on)."""
    from sklearn.datasets import load_breast_cancer, load_digits

    if name.startswith("bc"):
        cancer = load_breast_cancer()
        x = cancer.data.astype(np.float64)
        if name == "bc-mixed":
            cut = x[:, 20:]
            edges = np.quantile(cut, [0.2, 0.4, 0.6, 0.8], axis=0)
            x[:, 20:] = (cut[None] > edges[:, None]).sum(0)
            x = np.column_stack([x, cancer.target.astype(np.float64)])
        return x
    pixels = load_digits().data.astype(np.float64)
    return (pixels >= 8).astype(np.float64) if name == "digits-bern" else pixels


def _types(name: str, columns: int) -> list:
    from spn.structure.leaves.parametric.Parametric import Bernoulli, Categorical, Gaussian

    if name == "bc-gauss":
        return [Gaussian] * columns
    if name == "bc-mixed":
        return [Gaussian] * 20 + [Categorical] * 10 + [Bernoulli]
    return [Bernoulli if name == "digits-bern" else Categorical] * columns


def learn(name: str) -> object:
    """LearnSPN (RDC column splits, k-means row splits) on `data(name)`, seeded."""
    stub = types.ModuleType("spn.algorithms.splitting.PoissonStabilityTest")
    stub.get_split_cols_poisson_py = None  # type: ignore[attr-defined]
    sys.modules.setdefault(stub.__name__, stub)
    from spn.algorithms.LearningWrappers import learn_parametric
    from spn.structure.Base import Context

    x = data(name)
    context = Context(parametric_types=_types(name, x.shape[1])).add_domains(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return learn_parametric(x, context, min_instances_slice=MIN_INSTANCES[name], cpus=1,
                                rand_gen=np.random.RandomState(0))


def load(name: str) -> tuple[object, np.ndarray] | str:
    """(the SPFlow root, its data), or the reason it is unavailable."""
    path = HERE / f"{name}.txt.gz"
    if not path.exists():
        return f"{path} is absent (run tools/spflow_learned.py)"
    try:
        from spn.io.Text import str_to_spn
        from spn.structure.leaves.parametric.Text import add_parametric_text_support
        import sklearn  # noqa: F401
    except ImportError as error:
        return f"SPFlow or scikit-learn is not installed ({error})"
    add_parametric_text_support()
    return str_to_spn(gzip.decompress(path.read_bytes()).decode()), data(name)


def main() -> int:
    from spn.io.Text import spn_to_str_equation
    from spn.structure.Base import Leaf, Node, get_nodes_by_type

    HERE.mkdir(exist_ok=True)
    for name in sys.argv[1:] or MODELS:
        root = learn(name)
        path = HERE / f"{name}.txt.gz"
        path.write_bytes(gzip.compress((spn_to_str_equation(root) + "\n").encode(), mtime=0))
        print(f"{name}: {len(get_nodes_by_type(root, Node))} nodes, "
              f"{len(get_nodes_by_type(root, Leaf))} leaves, {path.stat().st_size} bytes",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
