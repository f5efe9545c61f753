"""`pcc` entry point: parse arguments, dispatch to a subcommand, turn errors into one line.

Exit status: 0 success, 1 the circuit has violations (check), 2 bad input or misuse.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from pcc.cli import check, convert, demo, eval, info, mpe, sample, train, viz
from pcc.cli import transform
from pcc.ir.errors import PccError

# name -> module with `add_arguments(parser)`, `run(args) -> int` and a docstring for the help
COMMANDS: dict[str, ModuleType] = {
    "check": check,
    "info": info,
    "eval": eval,
    "convert": convert,
    "demo": demo,
    "viz": viz,
    "train": train,
    "mpe": mpe,
    "sample": sample,
    "transform": transform,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pcc", description="A compiler toolkit for probabilistic circuits.")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, module in COMMANDS.items():
        doc = (module.__doc__ or "").strip()
        command = sub.add_parser(name, help=doc.splitlines()[0] if doc else None, description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command].run(args))
    except BrokenPipeError:
        # the reader went away (`pcc info big.pcc | head`): stop quietly, as Unix tools do
        sys.stderr.close()
        return 0
    except PccError as error:
        if args.debug:
            raise
        print(f"pcc {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (OSError, MemoryError) as error:
        if args.debug:
            raise
        print(f"pcc {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
