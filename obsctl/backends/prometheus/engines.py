"""The same rule groups shaped for the engine that loads them (`targets.prometheus.engine`).

The Prometheus rule files and their promtool tests stay as they are for every engine (`obsctl test` runs them);
an engine other than `prometheus` adds one file holding every rule group of the service (recordings, alerts,
SLOs), in the shape that engine's tooling reads:

    mimir            prometheus/<service>.mimir.yml     a mimirtool namespace file (`namespace:` + `groups:`) for
                                                        `mimirtool rules load/sync`; the tenant is mimirtool's --id,
                                                        `source_tenants` on every group when set (federated groups)
    thanos           prometheus/<service>.thanos.yml    a Thanos ruler rule file: Prometheus groups plus
                                                        `partial_response_strategy`
    victoriametrics  prometheus/<service>.vmalert.yml   a vmalert rule file: Prometheus groups plus vmalert's
                                                        `type` and `concurrency`; checked with `vmalert -dryRun`

No Mimir or Thanos runs here: their files are checked by reading them back with the structure mimirtool and the
Thanos ruler read (a Prometheus rule group plus their own fields), and the groups with `promtool check rules`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ...plan import Plan
from ...plan.rules import Group
from ...verify import Finding, Problem, Skipped, parse_back
from .. import Artifact, Renderer

SUFFIX = {"mimir": "mimir.yml", "thanos": "thanos.yml", "victoriametrics": "vmalert.yml"}

# The fields of a Prometheus rule group (prometheus/model/rulefmt) that promtool 2.42 reads.
_PROMETHEUS_GROUP = {"name", "interval", "limit", "rules"}
# What each engine reads on top of them.
_ENGINE_GROUP = {
    "mimir": {"source_tenants", "evaluation_delay", "query_offset", "align_evaluation_time_on_interval"},
    "thanos": {"partial_response_strategy"},
    "victoriametrics": {"type", "concurrency", "labels", "params"},
}


def engine_path(plan: Plan) -> str | None:
    engine = plan.spec.targets.prometheus.engine
    return f"prometheus/{plan.spec.service}.{SUFFIX[engine]}" if engine in SUFFIX else None


def group_options(plan: Plan) -> dict[str, object]:
    """The engine's own fields on every rule group, in the order they are written."""
    t = plan.spec.targets.prometheus
    if t.engine == "mimir":
        return {"source_tenants": list(t.source_tenants)} if t.source_tenants else {}
    if t.engine == "thanos":
        return {"partial_response_strategy": t.partial_response_strategy}
    if t.engine == "victoriametrics":
        # vmalert also reads Graphite rules: `type` says these are PromQL (MetricsQL) ones.
        return {"type": "prometheus", "concurrency": t.concurrency}
    return {}


def _note(plan: Plan) -> str:
    service, t = plan.spec.service, plan.spec.targets.prometheus
    return {
        "mimir": f"Mimir/Cortex ruler namespace '{service}': mimirtool rules load {service}.mimir.yml "
        "--address=<ruler> --id=<tenant> (or rules sync)",
        "thanos": f"Thanos ruler: thanos rule --rule-file={service}.thanos.yml with --label flags naming the ruler; "
        f"partial_response_strategy {t.partial_response_strategy}",
        "victoriametrics": f"vmalert: vmalert -rule={service}.vmalert.yml; evaluated as MetricsQL "
        "(docs/targets.md lists where it differs from PromQL)",
    }[t.engine]


def build(plan: Plan, renderer: Renderer, groups: list[Group]) -> list[Artifact]:
    """The engine's file with every group of the service (`groups`: the rules and the SLO groups), or nothing
    for engine prometheus."""
    path = engine_path(plan)
    if path is None:
        return []
    options = group_options(plan)
    data = [{**g.as_template(), "options": options} for g in groups]
    namespace = plan.spec.service if plan.spec.targets.prometheus.engine == "mimir" else ""
    return [
        Artifact(
            path,
            renderer.render(
                "prometheus/engine.rules.yml.j2", groups=data, namespace=namespace, note=_note(plan)
            ),
        )
    ]


# -- verify ---------------------------------------------------------------------------------------------------


def engine_of(path: str) -> str | None:
    return next((e for e, suffix in SUFFIX.items() if path.endswith("." + suffix)), None)


def verify(artifacts: list[Artifact], staging: Path) -> tuple[list[Finding], list[Path]]:
    """(findings, plain Prometheus rule files for promtool) for the engine files among `artifacts`: the file's
    structure as its engine reads it, its groups without the engine's fields for promtool, and vmalert files
    through `vmalert -dryRun`."""
    from ...verify.tools import ToolMissing

    problems: list[Finding] = []
    plain: list[Path] = []
    vm: list[tuple[str, Path]] = []
    for art in artifacts:
        engine = engine_of(art.path)
        if engine is None:
            continue
        doc, bad = parse_back(art.path, art.text)
        found = [bad] if bad else structure_problems(art.path, doc, engine)
        problems += found
        if found:
            continue
        stripped = staging / (art.path + ".groups.yml")
        groups = [{k: v for k, v in g.items() if k in _PROMETHEUS_GROUP} for g in doc["groups"]]
        stripped.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
        plain.append(stripped)
        if engine == "victoriametrics":
            vm.append((art.path, staging / art.path))
    if vm:
        from ...verify.vmalert import check_rules

        try:
            problems += check_rules(vm)
        except ToolMissing as e:
            problems.append(Skipped(e.tool, e.hint))
    return problems, plain


def structure_problems(path: str, doc: object, engine: str) -> list[Problem]:
    """What the engine's loader would refuse in the file's structure: mimirtool's RuleNamespace (`namespace`,
    `groups` with unique names), the Thanos ruler's and vmalert's rule files (`groups`), and per group only the
    fields that engine reads."""
    if not isinstance(doc, dict):
        return [Problem(path, "expected a YAML mapping")]
    allowed_top = {"namespace", "groups"} if engine == "mimir" else {"groups"}
    problems = [
        Problem(path, f"unknown top-level field '{k}' for {engine}") for k in doc if k not in allowed_top
    ]
    if engine == "mimir" and not (isinstance(doc.get("namespace"), str) and doc["namespace"]):
        problems.append(Problem(path, "mimirtool needs a `namespace`"))
    groups = doc.get("groups")
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        return problems + [Problem(path, "`groups` must be a list of mappings")]
    seen: set[str] = set()
    for g in groups:
        name = g.get("name")
        if not isinstance(name, str) or not name:
            problems.append(Problem(path, "a group without a name"))
        elif name in seen:
            problems.append(Problem(path, f"group '{name}' is repeated in the same file"))
        seen.add(str(name))
        extra = set(g) - _PROMETHEUS_GROUP - _ENGINE_GROUP[engine]
        if extra:
            problems.append(
                Problem(path, f"group '{name}': {engine} does not read {', '.join(sorted(extra))}")
            )
        if engine == "thanos" and g.get("partial_response_strategy", "abort") not in ("abort", "warn"):
            problems.append(Problem(path, f"group '{name}': partial_response_strategy is abort or warn"))
        if engine == "mimir" and not all(isinstance(t, str) and t for t in g.get("source_tenants") or []):
            problems.append(Problem(path, f"group '{name}': source_tenants must be tenant IDs"))
    return problems
