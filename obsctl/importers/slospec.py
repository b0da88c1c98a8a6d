"""What `obsctl import sloth` and `obsctl import openslo` share: an SLO read from either format (`SourceSlo`), its
SLI queries in obsctl's language, the catalog they imply, and the check that the spec written validates and builds.

A query of exactly the form `sum(rate(SEL[{{.window}}]))` is a counter selector (`bad: SEL`), which obsctl compiles
back to that very form per window; anything else is an expression in obsctl's language with `{{.window}}` written
`${window}`, used as written per window. A query the language cannot say is refused (OBS832), never changed.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import promql_parser as pp

from . import promql as pq
from .report import CHANGED, ImportFailure, ImportReport
from .specfile import SpecDoc, split_files

WINDOW = re.compile(r"\{\{-?\s*\.window\s*-?\}\}")
# `{{.window}}` is no PromQL: the query is parsed with this duration in its place, and the printer spells it back
# as `${window}` (no real query reads a range of 11.4 days and 21 minutes to the millisecond).
SENTINEL = "987654321ms"
SENTINEL_MS = 987654321
ROLES = ("good", "bad", "total", "error_ratio")


@dataclass
class SourceSlo:
    """One SLO as the source says it, before its queries are read."""

    file: str
    line: int | None
    name: str
    objective: float
    period: str = "30d"
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    queries: dict[str, str] = field(default_factory=dict)  # role (good, bad, total, error_ratio) -> query
    counter: bool = True  # a query without {{.window}} may be a counter's selector (OpenSLO `counter: true`)
    alerting: dict = field(default_factory=dict)  # obsctl's alerting section, as the reader made it

    def item(self) -> str:
        return f"SLO '{self.name}'"


def service_name(text: str) -> str:
    """The source's service as an obsctl service name (lowercase letters, digits, '-')."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "service"


def _parse(slo: SourceSlo, role: str, text: str) -> object:
    try:
        return pq.parse(WINDOW.sub(SENTINEL, text))
    except pq.PromQLError as e:
        raise ImportFailure(
            "OBS832",
            f"SLO '{slo.name}': the {role} query is not PromQL: {e}",
            slo.file,
            slo.line or 1,
            field=role,
        ) from None


def _counter_selector(node: object, windowed: bool) -> tuple[object, tuple[str, ...]] | None:
    """The selector and `by` labels of `sum [by (L)] (rate(SEL[{{.window}}]))` (or a bare `SEL` for a counter query
    without a window), the form obsctl compiles a counter SLI (with `by: [L]`) to."""
    n = node
    while isinstance(n, pp.ParenExpr):
        n = n.expr
    if not windowed:
        ok = isinstance(n, pp.VectorSelector) and n.offset is None and n.at is None
        return (n, ()) if ok else None
    if not (isinstance(n, pp.AggregateExpr) and str(n.op) == "sum" and n.param is None):
        return None
    by: tuple[str, ...] = ()
    if n.modifier is not None:
        if str(n.modifier.type).endswith("Without") or not n.modifier.labels:
            return None
        by = tuple(n.modifier.labels)
    call = n.expr
    while isinstance(call, pp.ParenExpr):
        call = call.expr
    if not (isinstance(call, pp.Call) and call.func.name == "rate" and len(call.args) == 1):
        return None
    m = call.args[0]
    if not isinstance(m, pp.MatrixSelector) or round(m.range.total_seconds() * 1000) != SENTINEL_MS:
        return None
    vs = m.vector_selector
    return (vs, by) if vs.offset is None and vs.at is None else None


def _kinds(metrics: dict[str, dict]) -> dict[str, str]:
    kinds = {n: m["kind"] for n, m in metrics.items() if m["kind"] != "histogram"}
    for n, m in metrics.items():
        if m["kind"] == "histogram":
            kinds.update({f"{n}_bucket": "part", f"{n}_count": "part", f"{n}_sum": "part"})
    return kinds


def sli_of(
    slo: SourceSlo, metrics: dict[str, dict], trees: dict[str, object]
) -> tuple[dict[str, str], list[str]]:
    """The SLO's `sli:` in obsctl's language and its `by:` labels: counter selectors where the query is
    `sum(rate(SEL[{{.window}}]))` of a counter (with `by: [L]` where every query is `sum by (L) (...)` alike),
    else expressions with `${window}`; OBS832 for a query the language cannot say."""
    kinds = _kinds(metrics)
    shapes = {}
    for role, text in slo.queries.items():
        shape = _counter_selector(trees[role], bool(WINDOW.search(text))) if role != "error_ratio" else None
        if (
            shape is not None
            and (WINDOW.search(text) or slo.counter)
            and kinds.get(shape[0].name or "") == "counter"
        ):
            shapes[role] = shape
    # per-label-value selectors only when every query groups by the same labels (else they stay expressions)
    groupings = {tuple(sorted(by)) for _, by in shapes.values()}
    by = next(iter(groupings)) if len(shapes) == len(slo.queries) and len(groupings) == 1 else ()
    out: dict[str, str] = {}
    for role, text in slo.queries.items():
        node = trees[role]
        windowed = bool(WINDOW.search(text))
        if role in shapes and tuple(sorted(shapes[role][1])) == by:
            out[role] = pq.Printer().selector(shapes[role][0], None, "rate")
            continue
        if not windowed:
            raise ImportFailure(
                "OBS832",
                f"SLO '{slo.name}': the {role} query has no {{{{.window}}}} and is not a counter's selector, so "
                "obsctl cannot compute it per burn-rate window",
                slo.file,
                slo.line or 1,
                hint="write the query with [{{.window}}] where its range goes "
                "(e.g. sum(rate(http_requests_total[{{.window}}])))",
                field=role,
            )
        ctx = pq.Context(kinds=kinds, spelling={**pq.spellings(text), SENTINEL_MS: "${window}"})
        why = pq.faithful(node, ctx)
        if why is None:
            try:
                expr = pq.Printer(ctx).expr(node)
            except pq.Untranslatable as e:
                why = str(e)
        if why is not None:
            raise ImportFailure(
                "OBS832",
                f"SLO '{slo.name}': obsctl's language cannot say the {role} query: {why}",
                slo.file,
                slo.line or 1,
                hint="rewrite the query over the raw series (obsctl's catalog cannot hold recording rules' "
                "colon names), then import again",
                field=role,
            )
        # the printed expression must read back to the source's tree: nothing is changed on the way
        if pq.canon(pq.parse(expr.replace("${window}", SENTINEL))) != pq.canon(node):
            raise ImportFailure(
                "OBS824",
                f"SLO '{slo.name}': the {role} query would be written as {expr!r}, which is not the same",
                slo.file,
                slo.line or 1,
                hint="this is a bug in the importer: please report it with the input",
                field=role,
            )
        out[role] = expr
    return out, list(by)


def build_spec(slos: list[SourceSlo], service: str, report: ImportReport) -> dict:
    """The spec: the catalog every query implies, and one `slos:` entry per source SLO."""
    trees = {id(s): {role: _parse(s, role, text) for role, text in s.queries.items()} for s in slos}
    usage: dict[str, pq.Usage] = {}
    for per in trees.values():
        for node in per.values():
            pq.collect_usage(node, usage)
    metrics = pq.catalog(usage, set())
    entries: dict[str, dict] = {}
    for s in slos:
        entry: dict = {"objective": s.objective, "period": s.period}
        if s.description:
            entry["description"] = s.description
        if s.labels:
            entry["labels"] = dict(s.labels)
        sli, by = sli_of(s, metrics, trees[id(s)])
        if by:
            entry["by"] = by
        entry["sli"] = sli
        entry["alerting"] = s.alerting
        key = s.name
        if key in entries:
            n = 2
            while f"{s.name}-{n}" in entries:
                n += 1
            key = f"{s.name}-{n}"
            report.add(s.file, s.item(), CHANGED, f"a second SLO of this name: imported as '{key}'", s.line)
        entries[key] = entry
        c = report.count(s.file)
        c.items += 1
        c.translated += 1
    return {"version": 1, "service": service, "metrics": metrics, "slos": entries}


def check_builds(doc: SpecDoc) -> None:
    """Validate, plan and compile the spec for Prometheus as `obsctl build` does (the rules checked by promtool
    where it is installed); OBS824 when anything fails: the importer's own bug."""
    from ..build import render
    from .prometheus import write_files

    with tempfile.TemporaryDirectory(prefix="obsctl-import-") as tmp:
        spec_path = write_files(Path(tmp), split_files(doc))
        _, diags, _ = render(spec_path, ["prometheus"], None, None, {"format": "rules"})
    errors = [d for d in diags if d.level == "error"]
    if errors:
        d = errors[0]
        raise ImportFailure(
            "OBS824",
            f"the imported spec does not build: {d.code} {d.message} [{d.field}] (and {len(errors) - 1} more)",
            doc.source,
            hint="this is a bug in the importer: please report it with the input",
        )


def finish(
    slos: list[SourceSlo],
    paths: list[Path],
    service: str,
    report: ImportReport,
    header: str,
    source_service: str | None = None,
) -> SpecDoc:
    if source_service is not None and source_service != service:
        # the service is in every series' labels (sloth_service, sloth_id) and in alert names
        report.notes.append(
            f"the service is '{service}' where the source says '{source_service}': the records' sloth_service and "
            "sloth_id labels change with it"
        )
    spec = build_spec(slos, service, report)
    doc = SpecDoc(spec, header=header, source=str(paths[0]), items=len(slos))
    check_builds(doc)
    return doc


def names(paths: list[Path]) -> str:
    return ", ".join(p.name for p in paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def one_service(services: list[str], service: str | None, path: Path) -> list[str]:
    """The distinct services the files name, refused (OBS833) when several and no --service gathers them."""
    distinct = sorted(set(services))
    if service is None and len(distinct) > 1:
        raise ImportFailure(
            "OBS833",
            f"the files hold SLOs of {len(distinct)} services ({', '.join(distinct)}); a spec is one service's",
            str(path),
            hint="import each service's files on their own, or give --service to gather them under one",
        )
    return distinct
