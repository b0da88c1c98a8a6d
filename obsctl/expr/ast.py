"""Syntax tree of the expression language. Every node keeps its position inside the expression text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pos:
    line: int  # 1-based, inside the expression text
    column: int  # 1-based


@dataclass
class Node:
    pos: Pos = field(default_factory=lambda: Pos(1, 1), kw_only=True, compare=False, repr=False)


@dataclass
class Number(Node):
    value: float


@dataclass
class String(Node):
    value: str


@dataclass
class DurationLit(Node):
    text: str


@dataclass
class Var(Node):
    name: str  # without the leading $


@dataclass
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str


@dataclass
class Ref(Node):
    """A name: a metric (or one of its histogram series), a derived metric, a log event or a probe."""

    name: str
    matchers: list[Matcher] = field(default_factory=list)
    window: str | None = None
    offset: str | None = None  # `x offset 1d`: the value one day earlier
    at: str | None = None  # `x @ 1609746000`, `x @ start()`: evaluated at a fixed time (PromQL's `@`)


@dataclass
class Call(Node):
    func: str
    args: list[Node] = field(default_factory=list)
    by: list[str] | None = None
    without: bool = False


@dataclass
class Matching:
    """PromQL vector matching on a binary operator: `on(a, b)` or `ignoring(a, b)`, then optionally
    `group_left(c)` / `group_right(c)` (many-to-one / one-to-many, copying labels `c` from the "one" side)."""

    on: bool  # True: on(labels); False: ignoring(labels)
    labels: list[str] = field(default_factory=list)
    group: str | None = None  # "left" | "right" | None (one-to-one)
    include: list[str] = field(
        default_factory=list
    )  # the labels listed in group_left(...) / group_right(...)


@dataclass
class BinOp(Node):
    op: str
    left: Node
    right: Node
    matching: Matching | None = None  # None: match on all labels (PromQL's default)
    return_bool: bool = False  # `> bool`: a comparison that returns 0/1 instead of filtering


@dataclass
class Neg(Node):
    operand: Node


@dataclass
class Subquery(Node):
    """`expr[1h:5m]`: the inner expression evaluated every `step` (the rule's interval when None) over `range`."""

    expr: Node
    range: str
    step: str | None = None
    offset: str | None = None
    at: str | None = None


COMPARISONS = (">", ">=", "<", "<=", "==", "!=")

# PromQL's aggregation operators: keywords of the language (`SUM(x) BY (a)` is PromQL too; function names are not).
AGGREGATIONS = frozenset(
    {
        "sum",
        "avg",
        "count",
        "min",
        "max",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
    }
)

# Binary operator precedence, loosest first (PromQL's).
PRECEDENCE = {
    "or": 1, "and": 2, "unless": 2,
    "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6,
}  # fmt: skip


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, parents first."""
    yield node
    if isinstance(node, Call):
        for a in node.args:
            yield from walk(a)
    elif isinstance(node, BinOp):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, Neg):
        yield from walk(node.operand)
    elif isinstance(node, Subquery):
        yield from walk(node.expr)


def children(node: Node) -> list[Node]:
    """A node's direct operands, in order."""
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, BinOp):
        return [node.left, node.right]
    if isinstance(node, Neg):
        return [node.operand]
    if isinstance(node, Subquery):
        return [node.expr]
    return []


WINDOW = "${window}"  # an SLO SLI's window placeholder: each recorded window in turn


def window_node(node: Node) -> Node | None:
    """The first node reading `${window}` (in a range, a subquery, an offset or a duration argument), if any."""
    for n in walk(node):
        if isinstance(n, Ref) and WINDOW in (n.window, n.offset):
            return n
        if isinstance(n, Subquery) and WINDOW in (n.range, n.step, n.offset):
            return n
        if isinstance(n, DurationLit) and n.text == WINDOW:
            return n
    return None


def has_window(node: Node) -> bool:
    """Whether the tree reads `${window}` anywhere."""
    return window_node(node) is not None


def with_window(node: Node, window: str) -> Node:
    """A copy of the tree with `${window}` replaced by `window` (positions kept, so errors still point into the
    text as written)."""
    from dataclasses import replace

    def dur(v: str | None) -> str | None:
        return window if v == WINDOW else v

    if isinstance(node, Ref):
        return replace(node, matchers=list(node.matchers), window=dur(node.window), offset=dur(node.offset))
    if isinstance(node, DurationLit):
        return replace(node, text=dur(node.text))
    if isinstance(node, Call):
        return replace(node, args=[with_window(a, window) for a in node.args])
    if isinstance(node, BinOp):
        return replace(node, left=with_window(node.left, window), right=with_window(node.right, window))
    if isinstance(node, Neg):
        return replace(node, operand=with_window(node.operand, window))
    if isinstance(node, Subquery):
        return replace(
            node,
            expr=with_window(node.expr, window),
            range=dur(node.range),
            step=dur(node.step),
            offset=dur(node.offset),
        )
    return replace(node)
