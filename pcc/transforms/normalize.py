"""normalize: an unnormalized smooth, decomposable circuit becomes a normalized one with the same
distribution: every unit's mass Z is computed bottom-up (inputs: categorical probabilities and
histogram masses; products: the product of their children's; sums: the weighted sum), inputs are
divided by their mass and each sum weight w[k, j] becomes w[k, j] * Z_j / Z_k. The new circuit's
values are the old ones minus log Z of the root (reported). Units of mass 0 are left as they are
(their parents' weights to them become 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pcc.analysis import decomposability, smoothness
from pcc.ir import Circuit, Input, Product
from pcc.transforms.base import Emitter, PassReport, TransformError


@dataclass(frozen=True)
class NormalizeReport(PassReport):
    log_z: float | list[float]   # per root unit (one float for a one-unit root)
    sums_changed: int
    inputs_changed: int

    name: ClassVar[str] = "normalize"

    def text(self) -> str:
        z = self.log_z if isinstance(self.log_z, list) else [self.log_z]
        shown = ", ".join(f"{v:.6g}" for v in z[:4]) + (" ..." if len(z) > 4 else "")
        return (f"normalize: log Z = {shown}; {self.sums_changed} sums and "
                f"{self.inputs_changed} inputs rescaled")


@dataclass(frozen=True)
class Normalize:
    tolerance: float = 1e-12   # a group whose weights move less than this is kept as it is

    name: ClassVar[str] = "normalize"

    def __call__(self, circuit: Circuit) -> tuple[Circuit, NormalizeReport]:
        report = smoothness(circuit).merge(decomposability(circuit))
        if report.violations:
            raise TransformError(f"normalize: cannot apply: {report.violations[0].message} "
                                 "(run smooth first; the mass of a non-smooth or non-"
                                 "decomposable circuit is not its partition function)")
        out = Emitter(circuit.domains)
        logz: list[np.ndarray] = []
        sums = inputs = 0
        for g in circuit.groups:
            if isinstance(g, Input):
                z, params = _input_mass(g)
                inputs += params is not None
                out.input(g.var, g.family, dict(g.params) if params is None else params,
                          g.origin)
            elif isinstance(g, Product):
                z = _product_mass(g, logz)
                out.copy(g, g.children)
            else:
                if g.mode == "dense":
                    lz = np.concatenate([logz[c] for c in g.children])[None, :]
                else:
                    lz = np.stack([logz[c] for c in g.children], axis=1)
                with np.errstate(divide="ignore"):
                    terms = np.log(g.weights) + lz
                z = _logsumexp(terms)
                safe = np.where(np.isfinite(z), z, 0.0)[:, None]
                weights = np.where(np.isfinite(z)[:, None], np.exp(terms - safe), g.weights)
                if np.max(np.abs(weights - g.weights), initial=0.0) > self.tolerance:
                    sums += 1
                    out.sum(g.children, weights, g.mode, g.origin)
                else:
                    out.copy(g, g.children)
            logz.append(z)
        root = logz[-1]
        log_z: float | list[float] = (float(root[0]) if len(root) == 1
                                      else [float(v) for v in root])
        return out.build(), NormalizeReport(log_z, sums, inputs)


def _input_mass(g: Input) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    """Per-unit log mass, and the normalized parameters (None when already normalized)."""
    if g.family == "categorical":
        probs = g.params["probs"]
        mass = probs.sum(axis=1)
        ok = mass > 0
        if np.all(mass == 1.0):
            return np.zeros(g.units), None
        new = np.where(ok[:, None], probs / np.where(ok, mass, 1.0)[:, None], probs)
        return _log(mass), {"probs": new}
    if g.family == "histogram":
        breaks, dens = g.params["breaks"], g.params["densities"]
        mass = (dens * np.diff(breaks, axis=1)).sum(axis=1)
        if np.all(mass == 1.0):
            return np.zeros(g.units), None
        ok = mass > 0
        new = np.where(ok[:, None], dens / np.where(ok, mass, 1.0)[:, None], dens)
        return _log(mass), {"breaks": breaks, "densities": new}
    return np.zeros(g.units), None  # the other families are normalized by construction


def _product_mass(g: Product, logz: list[np.ndarray]) -> np.ndarray:
    if g.mode == "hadamard":
        return np.sum([logz[c] for c in g.children], axis=0)
    out = logz[g.children[0]]
    for c in g.children[1:]:
        out = (out[:, None] + logz[c][None, :]).ravel()
    return out


def _log(a: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(a)


def _logsumexp(terms: np.ndarray) -> np.ndarray:
    peak = np.max(terms, axis=1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(terms - peak), axis=1)) + peak[:, 0]
