"""Variable domains: what values a variable of a circuit can take."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("binary", "categorical", "real", "count")


@dataclass(frozen=True)
class Domain:
    """The domain of one variable.

    binary: {0, 1}; categorical: {0, ..., size-1}; count: {0, 1, 2, ...}; real: the real line.
    """

    kind: str
    size: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown domain {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.kind == "binary" and self.size not in (None, 2):
            raise ValueError("a binary domain has exactly 2 values")
        if self.kind == "binary":
            object.__setattr__(self, "size", 2)
        if self.kind == "categorical" and (not isinstance(self.size, int) or self.size < 1):
            raise ValueError(f"categorical domain needs a size >= 1, got {self.size!r}")
        if self.kind in ("real", "count") and self.size is not None:
            raise ValueError(f"a {self.kind} domain has no size")

    @property
    def discrete(self) -> bool:
        return self.kind != "real"

    def __str__(self) -> str:
        return f"categorical({self.size})" if self.kind == "categorical" else self.kind

    @staticmethod
    def parse(text: str) -> Domain:
        """Inverse of `str`: 'binary', 'real', 'count' or 'categorical(k)'."""
        text = text.strip()
        if text.startswith("categorical(") and text.endswith(")"):
            return Domain("categorical", int(text[len("categorical("):-1]))
        return Domain(text)

    def outside(self, values: np.ndarray) -> np.ndarray:
        """Mask of observed (non-NaN) entries of `values` that lie outside this domain."""
        observed = ~np.isnan(values)
        if self.kind == "real":
            return observed & ~np.isfinite(values)
        with np.errstate(invalid="ignore"):
            bad = (values != np.floor(values)) | (values < 0) | ~np.isfinite(values)
            if self.size is not None:
                bad |= values >= self.size
        return observed & bad

    def describe_values(self) -> str:
        """The domain's values in words, for error messages."""
        if self.kind == "real":
            return "a finite real number"
        if self.kind == "count":
            return "a non-negative integer"
        return f"an integer in 0..{(self.size or 0) - 1}"


BINARY = Domain("binary")
REAL = Domain("real")
COUNT = Domain("count")


def categorical(k: int) -> Domain:
    return Domain("categorical", k)
