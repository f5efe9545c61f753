"""The exceptions pcc raises for bad input; each carries a message a user can act on."""

from __future__ import annotations


class PccError(Exception):
    """Base of every error pcc reports to a user (the CLI prints it on one line, no traceback)."""


class InvalidCircuitError(PccError):
    """A circuit is not well-formed: it lists every problem found, each naming its group."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
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
