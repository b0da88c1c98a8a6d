"""`obsctl import openslo`: OpenSLO v1 `SLO` objects with a ratio SLI (`ratioMetric`), inline (`indicator`) or
referenced (`indicatorRef`, an `SLI` object in the same files), into `slos:`.

A Prometheus query of a counter (`counter: true`) that is a bare selector is the SLI's counter selector; a query with
Sloth's `{{.window}}` is read as `obsctl import sloth` reads it. The objective is `target` (0-1) or `targetPercent`;
the period the rolling `timeWindow`. What obsctl cannot mean the same way is refused with the reason (OBS831: not a
Prometheus ratio SLI; OBS834: several objectives, a calendar window, time-slice budgeting, an unknown reference);
`alertPolicies` and other objects are reported: obsctl writes the workbook's burn-rate tiers.
"""

from __future__ import annotations

import re
from pathlib import Path

from .report import DROPPED, ImportFailure, ImportReport
from .slospec import SourceSlo, finish, names, one_service, service_name
from .specfile import SpecDoc
from .yamlin import line_of, load_documents

API = "openslo/v1"
_WINDOW = re.compile(r"(\d+)([mhdw])")


def _fail(file: str, line: int | None, message: str, code: str = "OBS830", hint: str = "") -> ImportFailure:
    return ImportFailure(code, message, file, line or 1, hint=hint)


def read_objects(paths: list[Path]) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for path in paths:
        docs = load_documents(path)
        if not docs:
            raise _fail(str(path), 1, "the file is empty: no OpenSLO objects")
        for d in docs:
            for o in d if isinstance(d, list) else [d]:
                if not isinstance(o, dict) or "kind" not in o or "apiVersion" not in o:
                    raise _fail(
                        str(path),
                        line_of(o) or line_of(d),
                        "not an OpenSLO object: it has no apiVersion and kind",
                        hint="give OpenSLO v1 documents (apiVersion: openslo/v1, kind: SLO)",
                    )
                if o["apiVersion"] != API:
                    raise _fail(
                        str(path),
                        line_of(o),
                        f"apiVersion {o['apiVersion']!r}: obsctl reads OpenSLO {API}",
                        hint="Sloth's prometheus/v1 specs are `obsctl import sloth`",
                    )
                out.append((str(path), o))
    return out


def _period(file: str, line: int | None, name: str, spec: dict) -> str:
    windows = spec.get("timeWindow") or [{"duration": "30d", "isRolling": True}]
    w = windows[0] if isinstance(windows, list) and windows else {}
    duration = str(w.get("duration", "")) if isinstance(w, dict) else ""
    m = _WINDOW.fullmatch(duration)
    if len(windows) != 1 or not w.get("isRolling", False) or not m:
        raise _fail(
            file,
            line,
            f"SLO '{name}': timeWindow {duration or windows!r} is not one rolling window of minutes, hours, days "
            "or weeks (obsctl's period)",
            code="OBS834",
            hint="use a rolling window such as 28d or 30d; calendar months have no fixed length",
        )
    n, unit = int(m[1]), m[2]
    return f"{n * 7}d" if unit == "w" else f"{n}{unit}"


def _query(file: str, line: int | None, name: str, role: str, metric: object) -> str:
    src = metric.get("metricSource") if isinstance(metric, dict) else None
    kind = str(src.get("type", "")) if isinstance(src, dict) else ""
    q = (src.get("spec") or {}).get("query") if isinstance(src, dict) else None
    if kind.lower() != "prometheus" or not isinstance(q, str) or not q.strip():
        raise _fail(
            file,
            line,
            f"SLO '{name}': the {role} metric is not a Prometheus query (metricSource type {kind or 'missing'})",
            code="OBS831",
            hint="obsctl reads metricSource {type: Prometheus, spec: {query: ...}}",
        )
    return q


def read_slos(objects: list[tuple[str, dict]], report: ImportReport) -> tuple[list[SourceSlo], list[str]]:
    slis = {str((o.get("metadata") or {}).get("name")): o for _, o in objects if o.get("kind") == "SLI"}
    slos: list[SourceSlo] = []
    services: list[str] = []
    for file, o in objects:
        line = line_of(o)
        meta = o.get("metadata") or {}
        name = str(meta.get("name") or "")
        if o.get("kind") == "SLI":
            continue
        if o.get("kind") == "Service":
            report.add(
                file,
                f"Service '{name}'",
                DROPPED,
                "the spec's service is the SLOs' spec.service (or --service)",
                line,
            )
            continue
        if o.get("kind") != "SLO":
            report.add(
                file,
                f"{o.get('kind')} '{name}'",
                DROPPED,
                "obsctl imports SLO objects (and their SLIs)",
                line,
            )
            continue
        spec = o.get("spec")
        if not name or not isinstance(spec, dict):
            raise _fail(file, line, "an SLO without metadata.name or spec")
        objectives = spec.get("objectives")
        if not isinstance(objectives, list) or len(objectives) != 1 or not isinstance(objectives[0], dict):
            raise _fail(
                file,
                line,
                f"SLO '{name}': {len(objectives) if isinstance(objectives, list) else 'no'} objectives; obsctl "
                "holds one per SLO",
                code="OBS834",
                hint="split the SLO into one per objective",
            )
        obj = objectives[0]
        if "targetPercent" in obj:
            objective = float(obj["targetPercent"])
        elif isinstance(obj.get("target"), int | float) and not isinstance(obj.get("target"), bool):
            objective = round(float(obj["target"]) * 100, 8)
        else:
            raise _fail(file, line_of(obj) or line, f"SLO '{name}': the objective has no target")
        if not 1 <= objective < 100:
            raise _fail(
                file,
                line_of(obj) or line,
                f"SLO '{name}': objective {objective}% is outside 1 to under 100",
                code="OBS834",
            )
        budgeting = spec.get("budgetingMethod", "Occurrences")
        if budgeting != "Occurrences":
            raise _fail(
                file,
                line,
                f"SLO '{name}': budgetingMethod {budgeting}: obsctl budgets occurrences (events), not time slices",
                code="OBS834",
            )
        indicator = spec.get("indicator") or obj.get("indicator")
        ref = spec.get("indicatorRef") or obj.get("indicatorRef")
        if indicator is None and ref is not None:
            if str(ref) not in slis:
                raise _fail(
                    file,
                    line,
                    f"SLO '{name}': indicatorRef '{ref}' names no SLI in these files",
                    code="OBS834",
                    hint="give the file holding the SLI object too",
                )
            indicator = slis[str(ref)]
        ratio = (
            ((indicator or {}).get("spec") or {}).get("ratioMetric") if isinstance(indicator, dict) else None
        )
        if not isinstance(ratio, dict):
            raise _fail(
                file,
                line,
                f"SLO '{name}': its SLI is not a ratioMetric (threshold and raw SLIs are not imported)",
                code="OBS831",
                hint="write the SLI as ratioMetric: {counter: true, good|bad: ..., total: ...}",
            )
        if ("good" in ratio) == ("bad" in ratio) or "total" not in ratio:
            raise _fail(
                file,
                line,
                f"SLO '{name}': a ratioMetric takes total and exactly one of good or bad",
                code="OBS831",
            )
        queries = {
            role: _query(file, line, name, role, ratio[role])
            for role in ("good", "bad", "total")
            if role in ratio
        }
        for k in ("alertPolicies",):
            if spec.get(k):
                report.add(
                    file,
                    f"SLO '{name}'",
                    DROPPED,
                    f"{k}: obsctl alerts on the workbook's multi-window burn-rate tiers",
                    line,
                )
        if spec.get("service"):
            services.append(str(spec["service"]))
        labels = {}
        for k, v in (meta.get("labels") or {}).items():
            if isinstance(v, str | int | float) and not isinstance(v, bool):
                labels[str(k)] = str(v)
            else:
                report.add(
                    file,
                    f"SLO '{name}'",
                    DROPPED,
                    f"label {k}: a list of values has no Prometheus label",
                    line,
                )
        slos.append(
            SourceSlo(
                file=file,
                line=line,
                name=name,
                objective=int(objective) if objective.is_integer() else objective,
                period=_period(file, line, name, spec),
                description=str(spec.get("description") or meta.get("displayName") or ""),
                labels=labels,
                queries=queries,
                counter=bool(ratio.get("counter", True)),
                alerting={},
            )
        )
    return slos, services


def import_files(paths: list[Path], service: str | None) -> tuple[SpecDoc, ImportReport]:
    report = ImportReport("openslo")
    slos, services = read_slos(read_objects(paths), report)
    if not slos:
        raise _fail(str(paths[0]), 1, "no SLO objects to import", code="OBS821")
    distinct = one_service(services, service, paths[0])
    default = distinct[0] if distinct else paths[0].name.split(".")[0]
    header = f"Imported by `obsctl import openslo` from {names(paths)}."
    doc = finish(slos, paths, service or service_name(default), report, header, default if distinct else None)
    return doc, report
