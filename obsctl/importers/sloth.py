"""`obsctl import sloth`: Sloth's `prometheus/v1` spec and its Kubernetes `PrometheusServiceLevel` object
(sloth.slok.dev/v1, the same fields in camelCase) into `slos:`.

Sloth alerts without `for` on the workbook's windows: page on 1h/5m at 14.4x or 6h/30m at 6x, ticket on 1d/2h at 3x
or 3d/6h at 1x, for its default 30-day period. The import writes those tiers out with `for: 0s` (obsctl's own
defaults wait), so the built alerts fire at the same evaluation as Sloth's. `page_alert`/`ticket_alert` become
`alerting.page`/`alerting.ticket` (the alert name, labels, annotations; `severity` as the action's severity, and
Sloth's `sloth_severity` label kept); `disable` turns that action's tiers off. SLI plugins have no meaning outside
Sloth: they are refused (OBS831), as is a query obsctl's language cannot say (OBS832).
"""

from __future__ import annotations

from pathlib import Path

from ..durations import parse_duration
from ..model import ALERT_NAME
from ..slo import BUDGET_SHARES, WORKBOOK_PERIOD, WORKBOOK_TIERS
from .report import CHANGED, DROPPED, ImportFailure, ImportReport
from .slospec import SourceSlo, finish, names, one_service, service_name
from .specfile import SpecDoc
from .yamlin import line_of, load_documents

API = "sloth.slok.dev/v1"
KIND = "PrometheusServiceLevel"
PERIOD = "30d"  # Sloth's default (--default-slo-period); the prometheus/v1 spec has no period of its own
# The Kubernetes object spells the fields in camelCase.
CAMEL = {
    "error_query": "errorQuery",
    "total_query": "totalQuery",
    "error_ratio_query": "errorRatioQuery",
    "page_alert": "pageAlert",
    "ticket_alert": "ticketAlert",
}
KNOWN = {
    "spec": {"version", "service", "labels", "slos"},
    "slo": {"name", "objective", "description", "labels", "sli", "alerting"},
    "alerting": {"name", "labels", "annotations", "page_alert", "ticket_alert"},
    "alert": {"disable", "labels", "annotations", "for"},
}


class _Doc:
    """One Sloth spec, whichever of the two spellings it uses."""

    def __init__(self, file: str, raw: dict, camel: bool) -> None:
        self.file = file
        self.raw = raw
        self.camel = camel

    def get(self, d: dict, key: str) -> object:
        # either spelling in either form: Sloth's own examples have used errorRatioQuery in prometheus/v1 files
        first, second = (CAMEL.get(key, key), key) if self.camel else (key, CAMEL.get(key, key))
        return d.get(first, d.get(second))

    def unknown(self, d: dict, known: str) -> list[str]:
        names = {n for k in KNOWN[known] for n in (k, CAMEL.get(k, k))}
        return [k for k in d if k not in names]


def _fail(file: str, line: int | None, message: str, hint: str = "", code: str = "OBS830") -> ImportFailure:
    return ImportFailure(code, message, file, line or 1, hint=hint)


def read_docs(paths: list[Path]) -> list[_Doc]:
    out: list[_Doc] = []
    for path in paths:
        docs = load_documents(path)
        if not docs:
            raise _fail(str(path), 1, "the file is empty: no Sloth spec")
        for d in docs:
            if isinstance(d, dict) and d.get("version") == "prometheus/v1":
                out.append(_Doc(str(path), d, camel=False))
            elif isinstance(d, dict) and d.get("apiVersion") == API and d.get("kind") == KIND:
                spec = d.get("spec")
                if not isinstance(spec, dict):
                    raise _fail(str(path), line_of(d), f"a {KIND} without a spec")
                out.append(_Doc(str(path), spec, camel=True))
            else:
                raise _fail(
                    str(path),
                    line_of(d),
                    "not a Sloth spec: neither `version: prometheus/v1` nor a "
                    f"`{KIND}` object of apiVersion {API}",
                    hint="give Sloth's prometheus/v1 spec (sloth generate -i FILE reads it), or its Kubernetes "
                    "object; OpenSLO documents are `obsctl import openslo`",
                )
    return out


def _labels(doc: _Doc, value: object, where: str, line: int | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int | float | bool) for v in value.values()
    ):
        raise _fail(doc.file, line, f"{where} is not a map of label names to values")
    return {str(k): str(v) for k, v in value.items()}


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def tiers(period: str, page_for: str, ticket_for: str, page_on: bool, ticket_on: bool) -> list[dict]:
    """The workbook's four tiers as Sloth writes them for `period` (the share of the budget each spends, as in
    obsctl's defaults), with Sloth's `for` (none unless the spec gives one)."""
    secs = parse_duration(period)
    shares = BUDGET_SHARES.get(int(secs), BUDGET_SHARES[WORKBOOK_PERIOD])
    out = []
    for t, share in zip(WORKBOOK_TIERS, shares, strict=True):
        page = t.action == "page"
        entry = {
            "name": t.name,
            "long": t.long,
            "short": t.short,
            "factor": _number(round(share * secs / parse_duration(t.long), 4)),
            "action": t.action,
            "for": page_for if page else ticket_for,
        }
        if not (page_on if page else ticket_on):
            entry["enabled"] = False
        out.append(entry)
    return out


def _alerting(doc: _Doc, slo: dict, name: str, line: int | None, report: ImportReport) -> dict:
    al = doc.get(slo, "alerting") or {}
    if not isinstance(al, dict):
        raise _fail(doc.file, line, f"SLO '{name}': alerting is not a map")
    for k in doc.unknown(al, "alerting"):
        report.add(doc.file, f"SLO '{name}'", DROPPED, f"alerting.{k}: obsctl has no field for it", line)
    common_labels = _labels(doc, al.get("labels"), f"SLO '{name}': alerting.labels", line)
    common_ann = _labels(doc, al.get("annotations"), f"SLO '{name}': alerting.annotations", line)
    out: dict = {}
    on: dict[str, bool] = {}
    waits: dict[str, str] = {}
    for action, key in (("page", "page_alert"), ("ticket", "ticket_alert")):
        a = doc.get(al, key) or {}
        if not isinstance(a, dict):
            raise _fail(doc.file, line, f"SLO '{name}': alerting.{key} is not a map")
        for k in doc.unknown(a, "alert"):
            report.add(
                doc.file, f"SLO '{name}'", DROPPED, f"alerting.{key}.{k}: obsctl has no field for it", line
            )
        on[action] = not a.get("disable")
        waits[action] = str(a.get("for") or "0s")
        labels = {
            **common_labels,
            **_labels(doc, a.get("labels"), f"SLO '{name}': alerting.{key}.labels", line),
        }
        annotations = {
            **common_ann,
            **_labels(doc, a.get("annotations"), f"SLO '{name}': alerting.{key}.annotations", line),
        }
        severity = labels.pop("severity", None)
        if severity:
            out[f"{action}_severity"] = severity
        # Sloth marks its alerts `sloth_severity: page|ticket`; routes and silences written for them keep working
        labels.setdefault("sloth_severity", action)
        section: dict = {}
        if al.get("name") and ALERT_NAME.fullmatch(str(al["name"])):
            section["name"] = str(al["name"])
        elif al.get("name") and action == "page":
            report.add(
                doc.file,
                f"SLO '{name}'",
                CHANGED,
                f"alert name {al['name']!r} is not one obsctl takes (a letter, then letters, digits, '_'): the "
                "alerts keep obsctl's default name",
                line,
            )
        section["labels"] = labels
        if annotations:
            section["annotations"] = annotations
        out[action] = section
    if not on["page"] and not on["ticket"]:
        return {"enabled": False}
    order = ("page_severity", "ticket_severity", "page", "ticket")
    out = {k: out[k] for k in order if k in out}
    out["tiers"] = tiers(PERIOD, waits["page"], waits["ticket"], on["page"], on["ticket"])
    return out


def read_slos(docs: list[_Doc], report: ImportReport) -> tuple[list[SourceSlo], list[str]]:
    slos: list[SourceSlo] = []
    services: list[str] = []
    for doc in docs:
        raw = doc.raw
        line = line_of(raw)
        for k in doc.unknown(raw, "spec"):
            if doc.camel or k != "version":
                report.add(doc.file, "spec", DROPPED, f"{k}: obsctl has no field for it", line)
        if not raw.get("service"):
            raise _fail(doc.file, line, "the Sloth spec names no service")
        services.append(str(raw["service"]))
        common = _labels(doc, raw.get("labels"), "labels", line)
        items = raw.get("slos")
        if not isinstance(items, list) or not items:
            raise _fail(doc.file, line, "the Sloth spec has no slos: list", code="OBS821")
        for s in items:
            sline = line_of(s) or line
            if not isinstance(s, dict) or not s.get("name"):
                raise _fail(doc.file, sline, "an SLO without a name")
            name = str(s["name"])
            for k in doc.unknown(s, "slo"):
                report.add(doc.file, f"SLO '{name}'", DROPPED, f"{k}: obsctl has no field for it", sline)
            objective = s.get("objective")
            if (
                isinstance(objective, bool)
                or not isinstance(objective, int | float)
                or not 1 <= objective < 100
            ):
                raise _fail(
                    doc.file,
                    sline,
                    f"SLO '{name}': objective {objective!r} is not a percentage obsctl holds (1 to under 100)",
                    hint="obsctl's objective is a percent: 99.9, not 0.999",
                    code="OBS834",
                )
            sli = s.get("sli") or {}
            if not isinstance(sli, dict):
                raise _fail(doc.file, sline, f"SLO '{name}': sli is not a map")
            queries: dict[str, str] = {}
            if sli.get("plugin") is not None:
                plugin = sli["plugin"]
                pid = plugin.get("id") if isinstance(plugin, dict) else None
                raise _fail(
                    doc.file,
                    line_of(sli) or sline,
                    f"SLO '{name}': its SLI is the Sloth plugin '{pid}', which only Sloth can run",
                    hint="write the queries the plugin makes as sli.events (error_query, total_query) or "
                    "sli.raw.error_ratio_query, then import again",
                    code="OBS831",
                )
            events, rawsli = sli.get("events"), sli.get("raw")
            if isinstance(events, dict):
                for role, key in (("bad", "error_query"), ("total", "total_query")):
                    q = doc.get(events, key)
                    if not isinstance(q, str) or not q.strip():
                        raise _fail(
                            doc.file, line_of(events) or sline, f"SLO '{name}': sli.events has no {key}"
                        )
                    queries[role] = q
            elif isinstance(rawsli, dict):
                q = doc.get(rawsli, "error_ratio_query")
                if not isinstance(q, str) or not q.strip():
                    raise _fail(
                        doc.file, line_of(rawsli) or sline, f"SLO '{name}': sli.raw has no error_ratio_query"
                    )
                queries["error_ratio"] = q
            else:
                raise _fail(doc.file, sline, f"SLO '{name}': the SLI is neither events, raw nor plugin")
            slos.append(
                SourceSlo(
                    file=doc.file,
                    line=sline,
                    name=name,
                    objective=_number(objective),
                    period=PERIOD,
                    description=str(s.get("description") or ""),
                    labels={**common, **_labels(doc, s.get("labels"), f"SLO '{name}': labels", sline)},
                    queries=queries,
                    alerting=_alerting(doc, s, name, sline, report),
                )
            )
    return slos, services


def import_files(paths: list[Path], service: str | None) -> tuple[SpecDoc, ImportReport]:
    report = ImportReport("sloth")
    slos, services = read_slos(read_docs(paths), report)
    distinct = one_service(services, service, paths[0])
    report.notes.append(
        f"Sloth's period is its --default-slo-period, {PERIOD} unless you set it: change each SLO's period "
        "(and its tiers' factors) if you generated with another"
    )
    report.notes.append(
        "obsctl writes its own recording rules (Sloth's record names and labels), summary and "
        "description annotations (Sloth's default title and summary are not copied), and the labels service, "
        "slo, slo_tier and action on every alert, one alert rule per tier"
    )
    header = (
        f"Imported by `obsctl import sloth` from {names(paths)}. The tiers are Sloth's: the workbook's windows, "
        "no `for`."
    )
    doc = finish(slos, paths, service or service_name(distinct[0]), report, header, distinct[0])
    return doc, report
