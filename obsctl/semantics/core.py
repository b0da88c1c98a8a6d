"""The checker every section module reports through: diagnostics at spec positions (inside expressions too),
the names expressions may use, and each expression parsed once and checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic, Location
from ..expr import ast
from ..expr.parser import ExprSyntaxError, parse
from ..yamlsource import SourceMap
from .expressions import RefInfo, check_node

if TYPE_CHECKING:
    from ..model import Spec
    from .labels import ExprLabels


@dataclass
class Analysis:
    """Parsed expressions (by spec path) plus every diagnostic found."""

    exprs: dict[tuple, ast.Node] = field(default_factory=dict)
    refs: dict[str, RefInfo] = field(default_factory=dict)
    labels: dict[tuple, ExprLabels] = field(
        default_factory=dict
    )  # per spec path: every node's inferred labels
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]


class Checker:
    """Collects one spec's Analysis; the section modules (obsctl/semantics/<section>.py) call it."""

    def __init__(self, spec: Spec, smap: SourceMap) -> None:
        self.spec = spec
        self.smap = smap
        self.out = Analysis()

    def report(
        self,
        code: str,
        level: str,
        message: str,
        path: tuple,
        hint: str = "",
        pos: ast.Pos | None = None,
        key: bool = False,
    ) -> None:
        loc = self.smap.locate(path, prefer_key=key)
        if loc and pos is not None:
            loc = self._inside(loc, path, pos)
        self.out.diagnostics.append(
            Diagnostic(code, level, message, loc, ".".join(str(p) for p in path), hint)
        )

    def _inside(self, loc: Location, path: tuple, pos: ast.Pos) -> Location:
        # Point into the expression: exact for one-line plain and quoted scalars, the line for block scalars.
        line = self.smap.line_text(loc)
        text = line[loc.column - 1 :]
        if pos.line == 1 and text[:1] in ("'", '"'):
            return Location(loc.file, loc.line, loc.column + pos.column)
        if pos.line == 1 and text[:1] not in ("|", ">"):
            return Location(loc.file, loc.line, loc.column + pos.column - 1)
        if text[:1] in ("|", ">"):
            return Location(loc.file, loc.line + pos.line, pos.column)
        return loc

    def build_refs(self) -> None:
        s = self.spec
        refs = self.out.refs
        owners: dict[str, str] = {}
        for section, names in (
            ("metrics", s.metrics),
            ("derived", s.derived),
            ("events", s.events),
            ("sources.probes", s.sources.probes),
        ):
            for name in names:
                if name in owners:
                    path = tuple(section.split(".")) + (name,)
                    self.report(
                        "OBS230",
                        "error",
                        f"'{name}' is defined in both {owners[name]} and {section}",
                        path,
                        "names are shared by metrics, derived metrics, events and probes",
                        key=True,
                    )
                owners[name] = section
        for name, m in s.metrics.items():
            refs[name] = RefInfo(m.kind, name)
            parts = {"histogram": ("bucket", "sum", "count"), "summary": ("sum", "count")}.get(m.kind, ())
            for part in parts:
                refs.setdefault(f"{name}_{part}", RefInfo("counter", name, part))
        for name in s.derived:
            refs[name] = RefInfo("derived", name)
        for name in s.events:
            refs[name] = RefInfo("event", name)
        for name in s.sources.probes:
            refs[name] = RefInfo("probe", name)

    def expr(
        self, text: str | None, path: tuple, allow_events: bool = True, window: str | None = None
    ) -> ast.Node | None:
        """Parse and check one expression. `window`: `${window}` may appear and is checked as that window (an
        SLO's SLI); the tree is kept as written, placeholder and all, for the plan to fill in per window."""
        if text is None:
            return None
        try:
            node = parse(text)
        except ExprSyntaxError as e:
            self.report(
                "OBS200",
                "error",
                f"cannot parse expression: {e}",
                path,
                e.hint or "expressions read like PromQL: rate(x), delta(x) / max(delta(y), 1), x >= 0.05",
                ast.Pos(e.line, e.column),
            )
            return None
        if ast.has_window(node):
            if window is None:
                self.report(
                    "OBS415",
                    "error",
                    "${window} stands for an SLO's windows and is read only in slos.<name>.sli",
                    path,
                    "write a duration such as 5m",
                    ast.window_node(node).pos,
                )
                return None
            self.out.exprs[path] = node
            check_node(self, ast.with_window(node, window), path, allow_events)
            return node
        self.out.exprs[path] = node
        check_node(self, node, path, allow_events)
        return node
