"""SPFlow's two text forms -> `Circuit` (the form is detected from the first token).

Equation form (`spn_to_str_equation`): `(0.3*(A) + 0.7*(B))` for sums, `(A * B)` for products,
leaves `Bernoulli(V0|p=0.3)`, `Categorical(V1|p=[0.2, 0.8])`, `Gaussian(V2|mean=0.0;stdev=1.0)`,
`Poisson(V3|mean=2.0)`, `Histogram(V4|[breaks];[densities][;[repr points]])`. As in SPFlow,
a parenthesized single node is that node.

Ref-graph form (`spn_to_str_ref_graph`, the SPNC benchmark files):
    NAME SumNode(w*CHILD, ...){ <children> }
    NAME ProductNode(CHILD, ...){ <children> }
    NAME <leaf as above>
    # FEATURE;FEATURE;...        ; optional last line: feature names in column order
Children are defined inside their parent's braces; the first node is the root. A name defined
twice (SPFlow prints a shared node under each parent) is one node: both definitions must agree.

Features: `V<i>` is column i unless a `# ...` line or `feature_names` names the columns.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import Path
from typing import Sequence

from pcc.frontends._spflow import LEAVES, add_leaf, choose_domains
from pcc.frontends._text import MAX_VARIABLES, Records, read_text
from pcc.ir import Circuit, FormatError

# one alternative per token kind, and `bad` for any other character (reported with its place);
# the number is an atomic group: without it, a long run of digits followed by a letter made the
# engine try every split of the digits (quadratic: 0.9 s for 5,000 digits)
_TOKEN = re.compile(r"\s*(?:(?P<num>(?>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|-?inf))"
                    r"(?![A-Za-z_\d])|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
                    r"|(?P<punct>[(){}\[\],;|*+=])|(?P<bad>\S))")


class _Tokens:
    """Tokens with line/column, and error helpers naming `file:line:col` and the token.
    Line numbers come from a table of line starts (a bisection per lookup), not by counting
    newlines up to the token: an equation is often one long line, and counting per node made
    reading quadratic in the file size."""

    def __init__(self, text: str, path: str):
        self.path = path
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.items: list[tuple[str, str, int]] = []  # (kind, text, offset)
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind is None:  # trailing white space
                continue
            if kind == "bad":
                raise self.error_at(m.start(kind), f"unexpected character {m.group(kind)!r}")
            self.items.append((kind, m.group(kind), m.start(kind)))
        self.i = 0

    def line_of(self, offset: int) -> int:
        return bisect_right(self.line_starts, offset)

    def error_at(self, offset: int, message: str) -> FormatError:
        line = self.line_of(offset)
        col = offset - self.line_starts[line - 1] + 1
        return FormatError(message, self.path, line, col)

    def error(self, message: str) -> FormatError:
        if self.i >= len(self.items):
            return self.error_at(len(self.text.rstrip()), message + " (the text ends here)")
        kind, text, offset = self.items[self.i]
        return self.error_at(offset, f"{message} (got {text!r})")

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.items[j][1] if j < len(self.items) else ""

    def peek_kind(self) -> str:
        return self.items[self.i][0] if self.i < len(self.items) else ""

    def origin(self) -> str:
        offset = self.items[min(self.i, len(self.items) - 1)][2] if self.items else 0
        return f"{self.path}:{self.line_of(offset)}"

    def take(self, expected: str | None = None, kind: str | None = None) -> str:
        if self.i >= len(self.items):
            raise self.error(f"expected {expected or kind}")
        k, text, _ = self.items[self.i]
        if (expected is not None and text != expected) or (kind is not None and k != kind):
            raise self.error(f"expected {expected or ('a ' + (kind or ''))!s}")
        self.i += 1
        return text

    def number(self) -> float:
        return float(self.take(kind="num"))

    def numbers(self) -> list[float]:
        """`[a, b, ...]` (commas optional, as numpy may print them without)."""
        self.take("[")
        out: list[float] = []
        while self.peek() != "]":
            if self.peek() == "," and out:
                self.take(",")
                continue
            out.append(self.number())
        self.take("]")
        return out


class _Parser:
    """Reads either form into a list of node specs, then `Records`."""

    def __init__(self, tokens: _Tokens, features: list[str] | None):
        self.t = tokens
        self.features = features
        # feature name -> column (the first of repeated names, as list.index would give)
        self.columns = {f: i for i, f in reversed(list(enumerate(features or [])))}
        self.specs: list[tuple] = []      # ("sum", [w], [child]) | ("product", [child]) | leaf
        self.names: dict[str, int] = {}   # ref-graph name -> spec index
        self.refs: list[tuple[int, list[int], list[str]]] = []  # spec, token indices, names

    # -- shared leaves -----------------------------------------------------------------
    def leaf(self) -> int:
        t = self.t
        origin = t.origin()
        kind = t.take(kind="name")
        if kind not in LEAVES:
            t.i -= 1
            raise t.error(f"unknown SPFlow leaf type; pcc reads {', '.join(LEAVES)}")
        t.take("(")
        feature_at = t.i
        feature = t.take(kind="name")
        var = self.variable(feature, feature_at)
        t.take("|")
        params: dict[str, object] = {}
        if kind == "Histogram":
            params["breaks"] = t.numbers()
            t.take(";")
            params["densities"] = t.numbers()
            if t.peek() == ";":
                t.take(";")
                t.numbers()  # bin_repr_points: used by SPFlow for sampling/MPE only
        else:
            while True:
                at = t.i
                key = t.take(kind="name")
                if key not in LEAVES[kind] or key in params:
                    t.i = at
                    raise t.error(f"{kind} takes {', '.join(LEAVES[kind])}")
                t.take("=")
                params[key] = t.numbers() if t.peek() == "[" else t.number()
                if t.peek() != ";":
                    break
                t.take(";")
            missing = [k for k in LEAVES[kind] if k not in params]
            if missing:
                raise t.error(f"{kind} needs {', '.join(missing)}")
        t.take(")")
        self.specs.append(("leaf", kind, var, params, origin))
        return len(self.specs) - 1

    def variable(self, feature: str, at: int) -> int:
        if self.features is not None:
            if feature in self.columns:
                return self.columns[feature]
        elif re.fullmatch(r"V\d{1,7}", feature) and int(feature[1:]) < MAX_VARIABLES:
            return int(feature[1:])
        self.t.i = at
        raise self.t.error("unknown feature name (use V<i>, or give the feature names)")

    # -- equation form -----------------------------------------------------------------
    def equation(self) -> int:
        t = self.t
        if t.peek() != "(":
            return self.leaf()
        origin = t.origin()
        t.take("(")
        if t.peek_kind() == "num" and t.peek(1) == "*":
            weights, children = [], []
            while True:
                weights.append(t.number())
                t.take("*")
                children.append(self.equation())
                if t.peek() != "+":
                    break
                t.take("+")
            t.take(")")
            self.specs.append(("sum", weights, children, origin))
            return len(self.specs) - 1
        children = [self.equation()]
        while t.peek() == "*":
            t.take("*")
            children.append(self.equation())
        t.take(")")
        if len(children) == 1:
            return children[0]
        self.specs.append(("product", children, origin))
        return len(self.specs) - 1

    # -- ref-graph form ----------------------------------------------------------------
    def graph_node(self) -> int:
        t = self.t
        name_at = t.i
        name = t.take(kind="name")
        origin = t.origin()
        head = t.peek()
        if head in ("SumNode", "ProductNode"):
            t.take()
            t.take("(")
            weights: list[float] = []
            child_names: list[str] = []
            child_at: list[int] = []
            while True:
                if head == "SumNode":
                    weights.append(t.number())
                    t.take("*")
                child_at.append(t.i)
                child_names.append(t.take(kind="name"))
                if t.peek() != ",":
                    break
                t.take(",")
            t.take(")")
            t.take("{")
            while t.peek() != "}":
                self.graph_node()
            t.take("}")
            spec: tuple = (("sum", weights, child_names, origin) if head == "SumNode"
                           else ("product", child_names, origin))
            self.specs.append(spec)
            self.refs.append((len(self.specs) - 1, child_at, child_names))
        else:
            self.leaf()
        index = len(self.specs) - 1
        if name in self.names:
            if _key(self.specs[self.names[name]]) != _key(self.specs[index]):
                t.i = name_at
                raise t.error("a node name defined twice with different contents")
            return self.names[name]
        self.names[name] = index
        return index


def _key(spec: tuple) -> tuple:
    """A spec without its origin, for comparing two definitions of one name."""
    return tuple(repr(x) for x in spec[:-1])


def load_spflow_text(path: str | Path, feature_names: Sequence[str] | None = None,
                     text: str | None = None) -> Circuit:
    """The circuit of a file in either SPFlow text form."""
    name = str(path)
    text = read_text(path) if text is None else text
    features = list(feature_names) if feature_names is not None else None
    body_lines = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            if features is None:
                features = [f.strip() for f in line.lstrip()[1:].split(";")]
            body_lines.append("")  # keep line numbers
        else:
            body_lines.append(line)
    tokens = _Tokens("\n".join(body_lines), name)
    if not tokens.items:
        raise FormatError("empty file", name)
    parser = _Parser(tokens, features)
    graph = tokens.items[0][0] == "name" and tokens.peek(1) not in ("(",)
    try:
        root = parser.graph_node() if graph else parser.equation()
    except RecursionError:  # the parser recurses once per nesting level
        raise FormatError("nodes nested too deeply for this parser", name) from None
    if tokens.i != len(tokens.items):
        raise tokens.error("unexpected text after the root node")
    return _build(parser, root, name, len(features) if features is not None else None)


def _build(parser: _Parser, root: int, path: str, num_vars: int | None) -> Circuit:
    specs = parser.specs
    children: dict[int, list[int]] = {}
    for index, at, child_names in parser.refs:
        resolved = []
        for k, child in enumerate(child_names):
            if child not in parser.names:
                parser.t.i = at[k]
                raise parser.t.error(f"child {child!r} is not defined")
            resolved.append(parser.names[child])
        children[index] = resolved
    # specs are children-first except for name references: order them by a post-order walk
    order: list[int] = []
    state: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        s, done = stack.pop()
        if done:
            state[s] = 2
            order.append(s)
            continue
        if state.get(s) == 2:
            continue
        if state.get(s) == 1:
            raise FormatError(f"{specs[s][-1]}: the node graph has a cycle")
        state[s] = 1
        stack.append((s, True))
        kids = children.get(s, specs[s][2] if specs[s][0] == "sum" else
                            specs[s][1] if specs[s][0] == "product" else [])
        children[s] = kids
        stack += [(c, False) for c in reversed(kids) if state.get(c) != 2]
    leaves = [s[1:] for s in (specs[i] for i in order) if s[0] == "leaf"]
    n = num_vars if num_vars is not None else max((v for _, v, _, _ in leaves), default=-1) + 1
    domains = choose_domains(leaves, n)
    rec = Records()
    new: dict[int, int] = {}
    for s in order:
        spec = specs[s]
        if spec[0] == "leaf":
            _, kind, var, params, origin = spec
            new[s] = add_leaf(rec, kind, var, params, origin, domains[var])
        elif spec[0] == "sum":
            new[s] = rec.add("sum", [new[c] for c in children[s]], spec[1], spec[-1])
        else:
            new[s] = rec.add("product", [new[c] for c in children[s]], None, spec[-1])
    return rec.build(domains, path)
