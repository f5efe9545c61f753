"""`RegionGraph`: regions (scopes) and partitions (splits of a region into disjoint sub-regions).

    region graph over 4 variables: 7 regions, 3 partitions, root #6
      #0 {0}
      #1 {1}
      ...
      #6 {0..3} = #4 * #5 | #2 * #3

Regions are identified by id, not by scope: two regions may share a scope (RAT-SPN repetitions
keep their sub-trees apart). A region without partitions is a leaf. The graph is valid when every
partition's children are disjoint and their union is the parent's scope, there is exactly one
root covering every variable, and every region is reachable from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

from pcc.ir.circuit import vars_to_mask
from pcc.ir.errors import FormatError, PccError
from pcc.ir.text import format_scope

FORMAT = "pcc-regions"
VERSION = 1


class InvalidRegionGraphError(PccError):
    """A region graph breaks a rule; lists every problem, each naming its region."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        shown = "; ".join(self.problems[:20])
        more = len(self.problems) - 20
        super().__init__("invalid region graph: " + shown + (f"; ... and {more} more" if more > 0
                                                            else ""))


@dataclass(frozen=True)
class Partition:
    """`region` is the product of the disjoint `children` regions."""

    region: int
    children: tuple[int, ...]


class RegionGraph:
    """An immutable region graph over `num_vars` variables; construction validates it."""

    def __init__(self, num_vars: int, regions: Sequence[Sequence[int]],
                 partitions: Sequence[Partition | tuple[int, Sequence[int]]]):
        self.num_vars = int(num_vars)
        self.regions: tuple[tuple[int, ...], ...] = tuple(
            tuple(sorted(int(v) for v in r)) for r in regions)
        self.partitions: tuple[Partition, ...] = tuple(
            p if isinstance(p, Partition) else Partition(int(p[0]), tuple(int(c) for c in p[1]))
            for p in partitions)
        found = problems(self)
        if found:
            raise InvalidRegionGraphError(found)

    # -- derived -----------------------------------------------------------------------------
    @cached_property
    def partitions_of(self) -> tuple[tuple[int, ...], ...]:
        """For each region, the indices of its partitions (empty for leaves)."""
        out: list[list[int]] = [[] for _ in self.regions]
        for index, p in enumerate(self.partitions):
            out[p.region].append(index)
        return tuple(tuple(x) for x in out)

    @cached_property
    def root(self) -> int:
        return _roots(self)[0]

    @cached_property
    def order(self) -> tuple[int, ...]:
        """Region ids with children before parents (children's scopes are strictly smaller)."""
        return tuple(sorted(range(len(self.regions)), key=lambda r: (len(self.regions[r]), r)))

    def is_leaf(self, region: int) -> bool:
        return not self.partitions_of[region]

    @property
    def leaves(self) -> tuple[int, ...]:
        return tuple(r for r in range(len(self.regions)) if self.is_leaf(r))

    @cached_property
    def depth(self) -> int:
        """The number of partitions on the longest root-to-leaf path."""
        height = [0] * len(self.regions)
        for r in self.order:
            for p in self.partitions_of[r]:
                height[r] = max(height[r], 1 + max(height[c] for c in self.partitions[p].children))
        return height[self.root]

    # -- text and files --------------------------------------------------------------------------
    def __repr__(self) -> str:
        return format_region_graph(self)

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "num_vars": self.num_vars,
                "regions": [list(r) for r in self.regions],
                "partitions": [[p.region, list(p.children)] for p in self.partitions]}

    @staticmethod
    def from_json(obj: dict, path: str | None = None) -> RegionGraph:
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise FormatError(f"not a region graph (expected \"format\": \"{FORMAT}\")", path)
        if obj.get("version") != VERSION:
            raise FormatError(f"unsupported region graph version {obj.get('version')!r}; "
                              f"this pcc reads version {VERSION}", path)
        try:
            return RegionGraph(obj["num_vars"], obj["regions"],
                               [(p[0], p[1]) for p in obj["partitions"]])
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise FormatError(f"malformed region graph: {error!r}", path) from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json()) + "\n")

    @staticmethod
    def load(path: str | Path) -> RegionGraph:
        try:
            obj = json.loads(Path(path).read_text())
        except json.JSONDecodeError as error:
            raise FormatError(error.msg, str(path), error.lineno, error.colno) from None
        except UnicodeDecodeError:
            raise FormatError("not a text file", str(path)) from None
        return RegionGraph.from_json(obj, str(path))


def problems(graph: RegionGraph) -> list[str]:
    """Every rule `graph` breaks, each naming the region; empty when valid."""
    found: list[str] = []
    n, count = graph.num_vars, len(graph.regions)
    if count == 0:
        return ["a region graph needs at least one region"]
    for r, scope in enumerate(graph.regions):
        if not scope:
            found.append(f"region #{r} is empty")
        bad = [v for v in scope if not 0 <= v < n]
        if bad:
            found.append(f"region #{r} has variable x{bad[0]} outside 0..{n - 1}")
        if len(set(scope)) != len(scope):
            found.append(f"region #{r} lists a variable twice")
    for p in graph.partitions:
        if not 0 <= p.region < count:
            found.append(f"a partition refers to region #{p.region}, which does not exist")
            continue
        name = f"region #{p.region} {_scope(graph.regions[p.region])}"
        missing = [c for c in p.children if not 0 <= c < count]
        if missing:
            found.append(f"{name}: partition child #{missing[0]} does not exist")
            continue
        if len(p.children) < 2:
            found.append(f"{name}: a partition needs at least two children, got "
                         f"{list(p.children)}")
            continue
        found += _partition_problems(graph, p, name)
    if found:
        return found
    roots = _roots(graph)
    if len(roots) != 1:
        found.append("a region graph needs exactly one root (a region in no partition), got "
                     + ", ".join(f"#{r}" for r in roots[:10]))
    elif len(graph.regions[roots[0]]) != n:
        found.append(f"root #{roots[0]} has scope {_scope(graph.regions[roots[0]])}, "
                     f"expected all {n} variables")
    return found


def _partition_problems(graph: RegionGraph, p: Partition, name: str) -> list[str]:
    seen: dict[int, int] = {}
    found = []
    for c in p.children:
        for v in graph.regions[c]:
            if v in seen:
                found.append(f"{name}: children #{seen[v]} and #{c} both contain x{v}")
                return found
            seen[v] = c
    parent = set(graph.regions[p.region])
    extra = sorted(set(seen) - parent)
    lacking = sorted(parent - set(seen))
    if extra:
        found.append(f"{name}: child #{seen[extra[0]]} contains x{extra[0]}, which is not in "
                     "the region")
    if lacking:
        found.append(f"{name}: children {', '.join(f'#{c}' for c in p.children)} do not cover "
                     f"{_scope(lacking)}")
    return found


def _roots(graph: RegionGraph) -> list[int]:
    child = [False] * len(graph.regions)
    for p in graph.partitions:
        for c in p.children:
            child[c] = True
    return [r for r, is_child in enumerate(child) if not is_child]


def _scope(variables: Sequence[int]) -> str:
    """A region's variables in pcc's one scope text, `{0..2,5}` (`pcc.ir.text.format_scope`)."""
    return format_scope(vars_to_mask(variables))


def format_region_graph(graph: RegionGraph, limit: int = 200) -> str:
    """One line per region, children first: `#id {scope} = #a * #b | #c * #d`."""
    lines = [f"region graph over {graph.num_vars} variables: {len(graph.regions)} regions, "
             f"{len(graph.partitions)} partitions, depth {graph.depth}, root #{graph.root}"]
    for r in graph.order[:limit]:
        text = f"  #{r} {_scope(graph.regions[r])}"
        splits = [" * ".join(f"#{c}" for c in graph.partitions[p].children)
                  for p in graph.partitions_of[r]]
        if splits:
            text += " = " + " | ".join(splits)
        lines.append(text)
    if len(graph.regions) > limit:
        lines.append(f"  ... {len(graph.regions) - limit} more regions")
    return "\n".join(lines)


class RegionGraphBuilder:
    """Collects regions and partitions; `region(scope, share=True)` reuses a region by scope."""

    def __init__(self, num_vars: int):
        self.num_vars = num_vars
        self.regions: list[tuple[int, ...]] = []
        self.partitions: list[Partition] = []
        self._by_scope: dict[tuple[int, ...], int] = {}
        self._split: set[tuple[int, tuple[int, ...]]] = set()

    def region(self, scope: Sequence[int], share: bool = True) -> int:
        key = tuple(sorted(int(v) for v in scope))
        if share and key in self._by_scope:
            return self._by_scope[key]
        self.regions.append(key)
        if share:
            self._by_scope[key] = len(self.regions) - 1
        return len(self.regions) - 1

    def partition(self, region: int, children: Sequence[int]) -> None:
        """Add a partition, once: the same split of the same region is not repeated."""
        key = (region, tuple(sorted(children)))
        if key not in self._split:
            self._split.add(key)
            self.partitions.append(Partition(region, tuple(children)))

    def build(self) -> RegionGraph:
        return RegionGraph(self.num_vars, self.regions, self.partitions)
