"""Label inference: every expression node's result label set, and whether it is a scalar, an instant vector or a
range vector, from the catalog (`metrics.<m>.labels`), the source or metric selector, functions, aggregations and
vector matching. Computed once per expression during `analyse()` and read by every later stage.

Labels a spec does not declare are *unknown* (a metric with no `labels:`), never guessed: the checks here only
fire on what is known. One pass per tree (derived metrics are inferred once and reused), so the work is linear in
the expression's size.

Vector matching follows Prometheus (promql/engine.go): without a matching clause both sides must carry the same
label set; `on(x)` matches on x, `ignoring(x)` on everything but x; a side whose series are not unique per
matching signature is the "many" side and needs `group_left`/`group_right`; the result of a one-to-one `on(x)`
keeps only x, of `ignoring(x)` the left side's labels without x, of a group_left the left side's labels (plus
the included ones), of a group_right the right side's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..expr import ast
from .expressions import AGGREGATIONS, COUNTER_FUNCS, RANGE_FUNCS, RefInfo

if TYPE_CHECKING:
    from .core import Checker

SCALAR, INSTANT, RANGE, STRING = "scalar", "instant", "range", "string"
# Labels Prometheus attaches to every scraped series (target labels), whatever the exporter declares.
TARGET_LABELS = frozenset({"job", "instance"})
# Whether the compilers wrap a counter function or a bare series outside any aggregation in the metric's
# `aggregate` by `defaults.by`. They no longer do (issue 10, item 2: PromQL's meaning), so series keep their labels.
IMPLICIT_AGGREGATION = False

# How a function's result labels follow from its arguments. One entry a line, alphabetical.
#   keep        the labels of the first argument (element-wise functions)
#   last        the labels of the last argument (topk(k, v), quantile over series)
#   range       a range function over a selector: the selector's labels
#   aggregate   by (...) / without (...) of the (last) argument; none: no labels
#   absent      the equality matchers of its selector
#   drop_le     the labels of the last argument without `le`
#   clamp       max(x, 1) / min(x, 1): the labels of the non-number argument; one argument: aggregate
#   quantile    quantile(q, histogram): by (...) and defaults.by; over series: aggregate
#   label_dst   the first argument's labels and the destination label (argument 2)
#   count_values  by (...) and the label named by argument 1
#   none        no labels (vector(), time() is a scalar)
#   scalar      a scalar
FUNCTION_LABELS: dict[str, str] = {
    "abs": "keep",
    "absent": "absent",
    "absent_over_time": "absent",
    "avg": "aggregate",
    "avg_over_time": "range",
    "bottomk": "last",
    "ceil": "keep",
    "changes": "range",
    "clamp": "keep",
    "clamp_max": "keep",
    "clamp_min": "keep",
    "count": "aggregate",
    "count_over_time": "range",
    "count_values": "count_values",
    "day_of_month": "keep",
    "day_of_week": "keep",
    "days_in_month": "keep",
    "delta": "range",
    "deriv": "range",
    "exp": "keep",
    "floor": "keep",
    "group": "aggregate",
    "histogram_quantile": "drop_le",
    "hour": "keep",
    "increase": "range",
    "irate": "range",
    "label_join": "label_dst",
    "label_replace": "label_dst",
    "last_over_time": "range",
    "ln": "keep",
    "log10": "keep",
    "log2": "keep",
    "max": "clamp",
    "max_over_time": "range",
    "min": "clamp",
    "min_over_time": "range",
    "minute": "keep",
    "month": "keep",
    "predict_linear": "range",
    "present_over_time": "range",
    "quantile": "quantile",
    "quantile_over_time": "range",
    "rate": "range",
    "resets": "range",
    "round": "keep",
    "scalar": "scalar",
    "sgn": "keep",
    "sort": "keep",
    "sort_desc": "keep",
    "sqrt": "keep",
    "stddev": "aggregate",
    "stddev_over_time": "range",
    "stdvar": "aggregate",
    "stdvar_over_time": "range",
    "sum": "aggregate",
    "sum_over_time": "range",
    "time": "scalar",
    "timestamp": "keep",
    "topk": "last",
    "vector": "none",
    "year": "keep",
}


@dataclass(frozen=True, slots=True)
class LabelSet:
    """A node's result: its kind (scalar, instant, range, string) and the labels every series of it carries
    (None when they are unknown)."""

    kind: str
    labels: frozenset[str] | None = frozenset()
    # Labels whose values pick at most one series (`topk by (x) (1, ...)` keeps its input's labels but one series
    # per x); None: the whole label set, as for any vector.
    one_per: frozenset[str] | None = None

    @property
    def known(self) -> bool:
        return self.labels is not None

    @property
    def key(self) -> frozenset[str] | None:
        """The labels that tell this vector's series apart."""
        return self.one_per if self.one_per is not None else self.labels

    def text(self) -> str:
        if self.kind in (SCALAR, STRING):
            return self.kind
        return "unknown labels" if self.labels is None else f"({', '.join(sorted(self.labels))})"


UNKNOWN = LabelSet(INSTANT, None)


@dataclass(frozen=True)
class Finding:
    """A vector-matching problem found while inferring: reported by the checks at the expression's spec path."""

    code: str
    node: ast.BinOp
    message: str
    hint: str
    level: str = "error"


@dataclass
class ExprLabels:
    """Every node of one expression tree with its LabelSet, and the matching problems inside it."""

    root: LabelSet
    nodes: dict[int, LabelSet] = field(
        default_factory=dict
    )  # id(node) -> its result (the tree is kept alive)
    findings: list[Finding] = field(default_factory=list)

    def of(self, node: ast.Node) -> LabelSet:
        return self.nodes.get(id(node), UNKNOWN)


def _names(labels: frozenset[str] | set[str] | list[str]) -> str:
    return ", ".join(sorted(labels))


class Inference:
    """Infers the labels of one spec's expressions; `labels(path)` is computed once per spec path."""

    def __init__(self, c: Checker) -> None:
        self.spec = c.spec
        self.refs: dict[str, RefInfo] = c.out.refs
        self.exprs = c.out.exprs
        self.out: dict[tuple, ExprLabels] = c.out.labels
        self._derived: dict[str, LabelSet] = {}
        self._busy: set[str] = set()
        self._raw: dict[str, frozenset[str] | None] = {}  # per name: what its series carry
        self.reported: set[tuple] = set()  # paths whose findings the checks have reported
        self.default_by = frozenset(self.spec.defaults.by)
        self._by_default = LabelSet(INSTANT, self.default_by)

    # -- public ---------------------------------------------------------------------------------------------
    def labels(self, path: tuple) -> ExprLabels | None:
        if path in self.out:
            return self.out[path]
        node = self.exprs.get(path)
        if node is None:
            return None
        result = ExprLabels(UNKNOWN)
        result.root = self._infer(node, False, result)
        self.out[path] = result
        return result

    # -- what a name's series carry -------------------------------------------------------------------------
    def raw(self, ref: ast.Ref) -> frozenset[str] | None:
        """The labels of a catalog metric's series as scraped: declared, selector and target labels."""
        if ref.name in self._raw:
            return self._raw[ref.name]
        self._raw[ref.name] = out = self._raw_labels(ref.name)
        return out

    def _raw_labels(self, name: str) -> frozenset[str] | None:
        info = self.refs.get(name)
        if info is None or info.target not in self.spec.metrics:
            return None
        m = self.spec.metrics[info.target]
        if not m.labels:
            return None
        extra = (
            {"le"}
            if info.series == "bucket"
            else ({"quantile"} if info.kind == "summary" and not info.series else set())
        )
        return frozenset(m.labels) | extra | frozenset(self.spec.selector_of(info.target)) | TARGET_LABELS

    def _derived_labels(self, name: str) -> LabelSet:
        if name in self._derived:
            return self._derived[name]
        if name in self._busy:  # refers to itself (OBS209)
            return UNKNOWN
        self._busy.add(name)
        result = self.labels(("derived", name, "expr"))
        self._busy.discard(name)
        ls = result.root if result is not None else UNKNOWN
        d = self.spec.derived.get(name)
        if d is not None and d.overrides.promql:
            ls = UNKNOWN
        elif ls.known and ls.kind == INSTANT and self.spec.targets.prometheus.recording_rules:
            # a recording rule adds the source selector's and the rule labels (obsctl/backends/prometheus)
            extra = set(self.spec.sources.metrics.selector) | set(self.spec.targets.prometheus.rule_labels)
            ls = LabelSet(INSTANT, ls.labels | extra)
        self._derived[name] = ls
        return ls

    # -- the walk -------------------------------------------------------------------------------------------
    def _events(self, node: ast.Node) -> bool:
        """Whether a tree reads a log event (so LogQL's aggregation rules apply); iterative and cheap."""
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, ast.Ref):
                info = self.refs.get(n.name)
                if info is not None and info.kind == "event":
                    return True
            elif isinstance(n, ast.Call):
                stack += n.args
            elif isinstance(n, ast.BinOp):
                stack += (n.left, n.right)
            elif isinstance(n, ast.Neg):
                stack.append(n.operand)
        return False

    def _infer(self, node: ast.Node, in_agg: bool, out: ExprLabels) -> LabelSet:
        ls = self._node(node, in_agg, out)
        out.nodes[id(node)] = ls
        return ls

    def _node(self, node: ast.Node, in_agg: bool, out: ExprLabels) -> LabelSet:
        if isinstance(node, ast.Number | ast.Var | ast.DurationLit):
            return LabelSet(SCALAR)
        if isinstance(node, ast.String):
            return LabelSet(STRING)
        if isinstance(node, ast.Neg):
            return self._infer(node.operand, in_agg, out)
        if isinstance(node, ast.Ref):
            return self._ref(node, in_agg)
        if isinstance(node, ast.Call):
            return self._call(node, in_agg, out)
        if isinstance(node, ast.BinOp):
            left = self._infer(node.left, in_agg, out)
            right = self._infer(node.right, in_agg, out)
            return binop(node, left, right, out.findings)
        return UNKNOWN

    def _implicit(self, labels: frozenset[str] | None, in_agg: bool) -> LabelSet:
        if IMPLICIT_AGGREGATION and not in_agg:
            return self._by_default
        return LabelSet(INSTANT, labels)

    def _ref(self, ref: ast.Ref, in_agg: bool) -> LabelSet:
        info = self.refs.get(ref.name)
        if info is None or info.kind == "event":
            return UNKNOWN
        if info.kind == "derived":
            return self._derived_labels(ref.name)
        if info.kind == "probe":
            return LabelSet(INSTANT, TARGET_LABELS)
        raw = self.raw(ref)
        if ref.window:
            return LabelSet(RANGE, raw)
        return self._implicit(raw, in_agg)

    def _call(self, node: ast.Call, in_agg: bool, out: ExprLabels) -> LabelSet:
        f, args = node.func, node.args
        rule = FUNCTION_LABELS.get(f)
        first = args[0] if args else None
        info = self.refs.get(first.name) if isinstance(first, ast.Ref) else None
        if info is not None and info.kind == "event" and f in ("count", "rate"):
            # LogQL: sum by (by, else defaults.by) (count_over_time(...)) (obsctl/compile/logql.py)
            for a in args:
                self._infer(a, True, out)
            if node.without:
                return UNKNOWN
            return LabelSet(INSTANT, frozenset(node.by) if node.by is not None else self.default_by)
        if rule == "range" and f in RANGE_FUNCS and isinstance(first, ast.Ref):
            # obsctl's range functions name the series; the window comes from context (obsctl/compile/promql.py)
            for a in args:
                self._infer(a, True, out)
            return self._implicit(
                self.raw(first) if info is not None and info.kind != "derived" else None, in_agg
            )
        if rule == "clamp" and len(args) == 2:
            num = next((a for a in args if isinstance(a, ast.Number | ast.Var)), args[1])
            other = args[0] if num is args[1] else args[1]
            self._infer(num, in_agg, out)
            return self._infer(other, in_agg, out)
        if rule in ("aggregate", "clamp") or (f in AGGREGATIONS and rule is None):
            inner = [self._infer(a, True, out) for a in args]
            return self._grouped(node, inner[-1] if inner else UNKNOWN)
        if rule == "quantile":
            target = args[-1] if args else None
            tinfo = self.refs.get(target.name) if isinstance(target, ast.Ref) else None
            inner = [self._infer(a, True, out) for a in args]
            if tinfo is not None and tinfo.kind in ("histogram", "summary") and not tinfo.series:
                # obsctl's quantile of a histogram: histogram_quantile over sum by (le, by..., defaults.by)
                return LabelSet(INSTANT, frozenset(b for b in (node.by or []) if b != "le") | self.default_by)
            return self._grouped(node, inner[-1] if inner else UNKNOWN)
        if rule == "last":
            inner = [self._infer(a, True, out) for a in args]
            last = inner[-1] if inner else UNKNOWN
            if (
                node.func in ("topk", "bottomk")
                and node.by is not None
                and not node.without
                and last.known
                and isinstance(args[0], ast.Number)
                and args[0].value == 1
            ):
                return LabelSet(
                    last.kind, last.labels, frozenset(node.by)
                )  # one series per group, labels kept
            return last
        if rule == "absent":
            for a in args:
                self._infer(a, True, out)
            if isinstance(first, ast.Ref):
                sel = (
                    self.spec.selector_of(info.target) if info is not None and info.kind != "derived" else {}
                )
                return LabelSet(
                    INSTANT, frozenset(sel) | frozenset(m.label for m in first.matchers if m.op == "=")
                )
            return LabelSet(INSTANT)
        if rule == "drop_le":
            inner = [self._infer(a, True, out) for a in args]
            last = inner[-1] if inner else UNKNOWN
            return LabelSet(INSTANT, last.labels - {"le"} if last.labels is not None else None)
        inner = [self._infer(a, in_agg if rule == "keep" else True, out) for a in args]
        if rule == "keep":
            vec = next((i for i in inner if i.kind in (INSTANT, RANGE)), None)
            return LabelSet(INSTANT, vec.labels) if vec is not None else LabelSet(SCALAR)
        if rule == "label_dst" and len(args) >= 2 and isinstance(args[1], ast.String) and inner[0].known:
            return LabelSet(INSTANT, inner[0].labels | {args[1].value})
        if (
            rule == "count_values"
            and args
            and isinstance(args[0], ast.String)
            and node.by is not None
            and not node.without
        ):
            return LabelSet(INSTANT, frozenset(node.by) | {args[0].value})
        if rule == "none":
            return LabelSet(INSTANT)
        if rule == "scalar":
            return LabelSet(SCALAR)
        return UNKNOWN

    def _grouped(self, node: ast.Call, inner: LabelSet) -> LabelSet:
        if node.by is None:
            # LogQL's aggregations keep defaults.by when the spec names no grouping (obsctl/compile/logql.py)
            return LabelSet(
                INSTANT, self.default_by if self.default_by and self._events(node) else frozenset()
            )
        if not node.without:
            return LabelSet(INSTANT, frozenset(node.by))
        return LabelSet(INSTANT, inner.labels - set(node.by) if inner.labels is not None else None)


# -- vector matching ---------------------------------------------------------------------------------------------


def binop(
    node: ast.BinOp, left: LabelSet, right: LabelSet, findings: list[Finding] | None = None
) -> LabelSet:
    """The result of `left op right`, appending to `findings` when the sides can never match or need a group."""
    findings = findings if findings is not None else []
    if left.kind in (SCALAR, STRING) and right.kind in (SCALAR, STRING):
        return LabelSet(SCALAR)
    if left.kind in (SCALAR, STRING):
        return LabelSet(INSTANT, right.labels)
    if right.kind in (SCALAR, STRING):
        return LabelSet(INSTANT, left.labels)
    m = node.matching
    set_op = node.op in ("and", "or", "unless")
    if not (left.known and right.known):
        if m is not None and m.on and m.group is None and not set_op:
            return LabelSet(INSTANT, frozenset(m.labels))
        if set_op and node.op != "or":
            return LabelSet(INSTANT, left.labels)
        if m is not None and m.group == "right":
            return LabelSet(INSTANT, right.labels | set(m.include) if right.known else None)
        if m is not None and m.group == "left":
            return LabelSet(INSTANT, left.labels | set(m.include) if left.known else None)
        return UNKNOWN
    L, R = left.labels, right.labels
    assert L is not None and R is not None
    KL, KR = left.key, right.key  # what tells each side's series apart (topk by (x) (1, ...): x)
    if m is None:
        sig_l, sig_r = L, R
        many_l = many_r = False
    elif m.on:
        sig_l, sig_r = L & set(m.labels), R & set(m.labels)
        many_l, many_r = not KL <= set(m.labels), not KR <= set(m.labels)
    else:
        sig_l, sig_r = L - set(m.labels), R - set(m.labels)
        many_l, many_r = bool(KL & set(m.labels)), bool(KR & set(m.labels))
    if node.op == "or":
        return LabelSet(INSTANT, L if L == R else None)
    if sig_l != sig_r:
        findings.append(
            Finding(
                "OBS270",
                node,
                f"the two sides of '{node.op}' can never match: the left side "
                f"keeps ({_names(L)}), the right side ({_names(R)})",
                _hint(node, L, R),
            )
        )
    elif not set_op:
        group = m.group if m is not None else None
        on = _names(sig_l)
        if group is None and (many_l or many_r):
            if many_l and many_r:
                findings.append(
                    Finding(
                        "OBS272",
                        node,
                        f"'{node.op}' is many-to-many: both sides have several series per "
                        f"matching label set ({on})",
                        f"aggregate both sides to the labels they share, e.g. "
                        f"sum by ({on}) (...) {node.op} sum by ({on}) (...)",
                    )
                )
            else:
                side, word = ("left", "group_left") if many_l else ("right", "group_right")
                findings.append(
                    Finding(
                        "OBS271",
                        node,
                        f"the {side} side of '{node.op}' has several series per matching label set "
                        f"({on}), and matching is one-to-one",
                        f"write '{node.op} on({on}) {word}' (many-to-one), or "
                        f"aggregate the {side} side: sum by ({on}) (...)",
                    )
                )
        elif (group == "left" and many_r) or (group == "right" and many_l):
            one = "right" if group == "left" else "left"
            extra = (KR - sig_r) if group == "left" else (KL - sig_l)
            if extra <= set(m.include):
                # The join that copies a label in (`* on(instance) group_left(node) node_info`): it holds wherever that
                # label has one value per group, which labels alone cannot prove; Prometheus errors at run time if not.
                findings.append(
                    Finding(
                        "OBS273",
                        node,
                        f"'{node.op}' with group_{group}({_names(extra)}) needs one {one}-side series per "
                        f"({on}): the {one} side keeps {_names(extra)} besides the matching labels",
                        f"make sure "
                        f"{_names(extra)} has one value per ({on}), or take one: topk by ({on}) (1, ...)",
                        "warning",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "OBS272",
                        node,
                        f"'{node.op}' with group_{group} is many-to-many: the {one} side has several "
                        f"series per matching label set ({on})",
                        f"aggregate the {one} side: sum by ({on}) (...)",
                    )
                )
    if set_op:
        return LabelSet(INSTANT, L)
    if m is None:
        return LabelSet(INSTANT, L)
    if m.group == "left":
        return LabelSet(INSTANT, L | set(m.include))
    if m.group == "right":
        return LabelSet(INSTANT, R | set(m.include))
    return LabelSet(INSTANT, sig_l if m.on else L - set(m.labels))


def _agg(labels: frozenset[str] | set[str]) -> str:
    return f"sum by ({_names(labels)}) (...)" if labels else "sum(...)"


def _hint(node: ast.BinOp, L: frozenset[str], R: frozenset[str]) -> str:
    op = node.op
    if node.op in ("and", "unless"):
        shared = _names(L & R)
        return f"write '{op} on({shared})' to match on the labels both sides keep"
    if R < L:
        return f"write '{op} on({_names(R)}) group_left' (many-to-one), or aggregate the left side: {_agg(R)}"
    if L < R:
        return (
            f"write '{op} on({_names(L)}) group_right' (one-to-many), or aggregate the right side: {_agg(L)}"
        )
    return f"aggregate both sides to the labels they share: {_agg(L & R)} {op} {_agg(L & R)}"


# -- the checks ------------------------------------------------------------------------------------------------


def inference(c: Checker) -> Inference:
    """The spec's Inference, made once per Checker."""
    inf = getattr(c, "_labels", None)
    if inf is None:
        inf = Inference(c)
        c._labels = inf
    return inf


def check_labels(c: Checker, path: tuple) -> ExprLabels | None:
    """Infer one expression's labels and report its matching problems (once per path)."""
    inf = inference(c)
    result = inf.labels(path)
    if result is not None and path not in inf.reported:
        inf.reported.add(path)
        for f in result.findings:
            c.report(f.code, f.level, f.message, path, f.hint, f.node.pos)
    return result


def check_all(c: Checker) -> None:
    """Every parsed expression not inferred by a section yet (derived metrics nobody uses, panels)."""
    for path in list(c.out.exprs):
        check_labels(c, path)


__all__ = [
    "COUNTER_FUNCS",
    "agg_text",
    "FUNCTION_LABELS",
    "IMPLICIT_AGGREGATION",
    "ExprLabels",
    "Finding",
    "Inference",
    "LabelSet",
    "binop",
    "check_all",
    "check_labels",
    "inference",
]


agg_text = _agg  # the `sum by (...)` a hint shows, for the section checks
