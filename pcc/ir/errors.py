"""The exceptions pcc raises for bad input; each carries a message a user can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One well-formedness problem: the group it is about (`None` when it concerns the whole
    circuit, e.g. orphan groups), that group's kind, and a message naming the group."""

    message: str
    group: int | None = None
    kind: str | None = None

    def __str__(self) -> str:
        return self.message


class PccError(Exception):
    """Base of every error pcc reports to a user (the CLI prints it on one line, no traceback)."""


class InvalidCircuitError(PccError):
    """A circuit is not well-formed: it lists every problem found, each naming its group.

    `records` are the `Problem`s (a plain string becomes a `Problem` of no group); `problems`
    their messages, in the same order."""

    def __init__(self, problems: Sequence[Problem | str]):
        self.records = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        self.problems = [p.message for p in self.records]
        shown = self.problems[:20]
        more = len(self.problems) - len(shown)
        text = "invalid circuit: " + "; ".join(shown)
        if more > 0:
            text += f"; ... and {more} more"
        super().__init__(text)


class DataError(PccError):
    """Data does not fit a circuit: wrong shape, or a value outside a variable's domain."""


class FormatError(PccError):
    """A file cannot be read: names the file, and the line and column where known."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 col: int | None = None):
        where = path or "<input>"
        if line is not None:
            where += f":{line}"
            if col is not None:
                where += f":{col}"
        self.path, self.line, self.col = path, line, col
        super().__init__(f"{where}: {message}")
