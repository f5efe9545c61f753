"""Hand-made circuits for the analysis tests: broken ones (one per violation kind) and
deterministic / structured ones."""

from __future__ import annotations

import numpy as np

from pcc.ir import BINARY, REAL, Circuit, CircuitBuilder, categorical


def not_smooth() -> Circuit:
    """sum #5 mixes scopes {0,1} and {0}; sum #7 has three scopes among four children."""
    b = CircuitBuilder([BINARY, BINARY, BINARY])
    x0, x1 = b.bernoulli(0, p=0.3), b.bernoulli(1, p=0.6)
    x0b, x2 = b.bernoulli(0, p=0.9), b.bernoulli(2, p=0.5)
    p01 = b.product([x0, x1])
    s = b.sum([p01, x0b], weights=[0.5, 0.5])
    p12 = b.product([x1, x2])
    s2 = b.sum([s, p12, x0b, x2], weights=[0.25, 0.25, 0.25, 0.25])
    return b.build(b.product([s2, x2]))


def not_decomposable() -> Circuit:
    """product #3 repeats x0; product #5 has children over {0,1} and {1,2}."""
    b = CircuitBuilder([BINARY] * 3)
    x0, x0b, x1 = b.bernoulli(0, p=0.3), b.bernoulli(0, p=0.7), b.bernoulli(1, p=0.5)
    bad = b.product([x0, x0b])
    x2 = b.bernoulli(2, p=0.5)
    p = b.product([b.product([bad, x1]), b.product([x1, x2])])
    good = b.product([b.product([x0, x1]), x2])
    return b.build(b.sum([p, good], weights=[0.5, 0.5]))


def not_normalized() -> Circuit:
    """sum #4 unit 1 sums to 0.9; categorical #1 unit 0 sums to 0.8; histogram #2 to 2.0."""
    b = CircuitBuilder([BINARY, categorical(3), REAL])
    x0 = b.bernoulli(0, p=[0.2, 0.8])
    x1 = b.categorical(1, probs=[[0.5, 0.2, 0.1], [0.2, 0.3, 0.5]])
    x2 = b.histogram(2, breaks=[[0.0, 1.0, 2.0]] * 2, densities=[[1.0, 1.0], [0.5, 0.5]])
    p = b.product([x0, x1, x2])
    s = b.sum([p], weights=[[0.5, 0.5], [0.4, 0.5]])
    return b.build(b.sum([s], weights=[[1.0, 0.0]]))


def not_structured() -> Circuit:
    """Products over {0,1}|{2} and {0}|{1,2} under one sum: no vtree fits both."""
    b = CircuitBuilder([BINARY] * 3)
    x = [b.bernoulli(v, p=0.5) for v in range(3)]
    left = b.product([b.product([x[0], x[1]]), x[2]])
    right = b.product([x[0], b.product([x[1], x[2]])])
    return b.build(b.sum([left, right], weights=[0.5, 0.5]))


def structured_tree(seed: int = 0) -> Circuit:
    """Two mixtures of the same balanced tree over a permutation of the variables, plus a
    ternary product: structured-decomposable."""
    rng = np.random.default_rng(seed)
    b = CircuitBuilder([BINARY] * 6)
    order = rng.permutation(6)
    tops = []
    for _ in range(2):
        nodes = [b.bernoulli(int(v), p=rng.uniform(0.1, 0.9, 2)) for v in order]
        while len(nodes) > 1:
            merged = [b.sum([b.product([nodes[i], nodes[i + 1]])],
                            weights=rng.dirichlet(np.ones(2), 2))
                      for i in range(0, len(nodes) - 1, 2)]
            nodes = merged + ([nodes[-1]] if len(nodes) % 2 else [])
        tops.append(nodes[0])
    pairs = [b.product([b.bernoulli(int(order[i]), p=[0.5, 0.5]),
                        b.bernoulli(int(order[i + 1]), p=[0.5, 0.5])]) for i in range(0, 6, 2)]
    tops.append(b.product(pairs))  # ternary, split ((o0,o1),(o2,o3)),(o4,o5) by the vtree
    return b.build(b.sum(tops, weights=rng.dirichlet(np.ones(6), 1)))


def decision_tree(vars: int = 3) -> Circuit:
    """A deterministic circuit: at each level a sum over [x_v = 0] x left and [x_v = 1] x right."""
    b = CircuitBuilder([BINARY] * vars)

    def node(v: int) -> int:
        if v == vars - 1:
            return b.sum([b.indicator(v, value=0), b.indicator(v, value=1)], weights=[0.3, 0.7])
        kids = [b.product([b.indicator(v, value=value), node(v + 1)]) for value in (0, 1)]
        return b.sum(kids, weights=[0.4, 0.6])

    return b.build(node(0))


def sdd_like() -> Circuit:
    """An SDD-like decision over primes that are not literals: primes over {x0, x1} are
    (x0 & x1), (x0 & !x1) | (!x0 & x1) [a sum], and (!x0 & !x1); subs over x2 (categorical
    with zeros and gaussians are not needed). Deterministic, but only provable recursively."""
    b = CircuitBuilder([BINARY, BINARY, categorical(3)])
    l0, n0 = b.indicator(0, value=1), b.indicator(0, value=0)
    l1, n1 = b.bernoulli(1, p=1.0), b.bernoulli(1, p=0.0)  # bernoulli p in {0,1} = literal
    both = b.product([l0, l1])
    xor = b.sum([b.product([l0, n1]), b.product([n0, l1])], weights=[0.5, 0.5])
    neither = b.product([n0, n1])
    sub_a = b.categorical(2, probs=[0.5, 0.5, 0.0])
    sub_b = b.categorical(2, probs=[0.0, 0.0, 1.0])  # one-hot: acts as [x2 = 2]
    sub_c = b.sum([b.indicator(2, value=0), b.indicator(2, value=2)], weights=[0.1, 0.9])
    elements = [b.product([both, sub_a]), b.product([xor, sub_b]), b.product([neither, sub_c])]
    return b.build(b.sum(elements, weights=[0.2, 0.3, 0.5]))


def plain_mixture() -> Circuit:
    """A mixture of two factorized Bernoullis: not deterministic (and not provable)."""
    b = CircuitBuilder([BINARY, BINARY])
    comps = [b.product([b.bernoulli(0, p=p), b.bernoulli(1, p=p)]) for p in (0.2, 0.7)]
    return b.build(b.sum(comps, weights=[0.5, 0.5]))
