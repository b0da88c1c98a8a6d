"""The package's shape: no import cycles (function-level imports included), no backend importing another, and a
validate that loads no template renderer or output checker, and only the backends of the spec's targets."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "obsctl"
GENERATED = {"obsctl.expr.lalr_parser"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Name)
        and test.id == "TYPE_CHECKING"
        or isinstance(test, ast.Attribute)
        and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """obsctl modules `path` imports anywhere in its body, except under `if TYPE_CHECKING:` (never run)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.orelse:
                    visit(stmt)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                found.add(target)
                found.update(
                    f"{target}.{a.name}" for a in child.names
                )  # `from . import slo` imports a module
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    files = [p for p in PACKAGE.rglob("*.py") if _module_name(p) not in GENERATED]
    modules = {_module_name(p) for p in files}
    return {_module_name(p): _imports(p, modules) for p in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_import_walker_sees_function_level_imports():
    graph = _graph()
    assert "obsctl.verify.promtool" in graph["obsctl.backends.prometheus"]  # imported inside verify()
    assert "obsctl.plan" in graph["obsctl.build"]  # imported inside render()


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_no_backend_imports_another():
    from obsctl.backends import TARGETS

    graph = _graph()
    owner = {
        m: t
        for m in graph
        for t in TARGETS
        if m == f"obsctl.backends.{t}" or m.startswith(f"obsctl.backends.{t}.")
    }
    crossing = sorted(f"{m} -> {i}" for m, t in owner.items() for i in graph[m] if owner.get(i, t) != t)
    assert crossing == []


def test_target_choices_come_from_the_registry():
    from obsctl.backends import TARGETS, backend
    from obsctl.cli import Target

    assert [t.value for t in Target] == [*TARGETS, "all"]
    for name in TARGETS:
        module = backend(name)
        assert callable(module.build) and callable(module.verify), name


def _modules_after(args: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """The modules of `prefixes` a fresh `obsctl ARGS` process has imported when it is done."""
    probe = (
        f"import os, sys\nfrom obsctl.cli import main\nsys.argv = ['obsctl', *{args!r}]\n"
        # validate ends with os._exit (no heap teardown): make it an exception, so the probe can print
        "def _exit(code):\n    raise SystemExit(code)\nos._exit = _exit\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m in {prefixes!r} "
        f"or m.startswith(tuple(p + '.' for p in {prefixes!r}))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return ast.literal_eval(proc.stdout.strip().splitlines()[-1])


# What validate has no use for: rendering, the tools' checkers, reports of a clean run, the other commands.
# It does run the plan and the spec's backends' builds with a renderer that renders nothing (so it refuses
# what build refuses), and the test generator on the spec's own tests (promql_parser). asyncio is not listed:
# pydantic_core imports it.
NOT_FOR_VALIDATE = (
    "obsctl.templating",
    "jinja2",
    "jsonschema",
    "datadog_api_client",
    "obsctl.build",
    "obsctl.outdir",
    "obsctl.testing",
    "obsctl.diff",
    "obsctl.explain",
    "obsctl.importers",
    "rich",
    "lark",
    "multiprocessing",
)


def test_validate_loads_no_template_renderer_or_checker():
    spec = str(ROOT / "examples" / "relay-ai" / "obsctl.yaml")
    assert _modules_after(["validate", spec], NOT_FOR_VALIDATE) == []
    verify = _modules_after(["validate", spec], ("obsctl.verify",))
    assert [m for m in verify if m != "obsctl.verify.grafana_units"] == ["obsctl.verify"]
    assert "obsctl.backends.datadog" in _modules_after(["validate", spec], ("obsctl.backends",))


def test_validate_loads_only_the_backends_of_the_spec_targets(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "service: svc\ntargets: {for: [prometheus]}\nmetrics: {up: {kind: gauge}}\n"
        "alerts: {Down: {severity: P1, when: up == 0}}\n"
    )
    assert _modules_after(["validate", str(spec)], ("obsctl.backends",)) == [
        "obsctl.backends",
        "obsctl.backends.prometheus",
        "obsctl.backends.prometheus.engines",
        "obsctl.backends.prometheus.operator",
        "obsctl.backends.prometheus.slo",
    ]


def test_the_target_names_a_spec_may_list_are_the_registry():
    import typing

    from obsctl.backends import TARGETS
    from obsctl.model import TargetName

    assert typing.get_args(TargetName) == TARGETS


def test_validate_of_a_spec_with_errors_loads_no_plan(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("service: svc\nalerts: {Down: {severity: P1, when: nope == 0}}\n")
    assert (
        _modules_after(["validate", str(spec)], ("obsctl.plan", "obsctl.backends.", "obsctl.testgen")) == []
    )


def test_help_loads_no_spec_machinery():
    """`--help` needs the command line only: no YAML, no models, no checks."""
    assert (
        _modules_after(
            ["--help"],
            ("pydantic", "yaml", "obsctl.model", "obsctl.pipeline", "obsctl.semantics", "obsctl.backends"),
        )
        == []
    )


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_every_verify_returns_typed_findings(tmp_path):
    """Broken output of every target comes back as Problem (or Skipped), never as bare strings."""
    from obsctl.backends import TARGETS, Artifact, backend
    from obsctl.verify import Problem, Skipped

    broken = {
        "prometheus": "prometheus/x.rules.yml",
        "loki": "loki/x.rules.yml",
        "alertmanager": "alertmanager/alertmanager.yml",
        "grafana": "grafana/dashboards/x.json",
        "datadog": "datadog/monitors/x.json",
    }
    for name in TARGETS:
        art = Artifact(broken[name], "{not: [valid\n")
        (tmp_path / art.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / art.path).write_text(art.text)
        findings = backend(name).verify([art], tmp_path)
        assert findings, name
        assert all(isinstance(f, Problem | Skipped) for f in findings), (name, findings)


def test_target_settings_are_for_registered_targets():
    """`targets:` in the spec holds settings per target; every key names a target of the registry."""
    from obsctl.backends import TARGETS
    from obsctl.model import Targets

    assert set(Targets.model_fields) - {"for_"} <= set(TARGETS)


def test_targets_that_read_no_staged_file_verify_the_text(tmp_path):
    """`build` stages files only for targets whose verify() runs a tool on them (VERIFY_READS_FILES). The others
    must check Artifact.text: with nothing staged, broken text is still a finding."""
    from obsctl.backends import TARGETS, Artifact, backend

    broken = {
        "loki": "loki/x.rules.yml",
        "grafana": "grafana/dashboards/x.json",
        "datadog": "datadog/monitors/x.json",
    }
    textual = [name for name in TARGETS if not backend(name).VERIFY_READS_FILES]
    assert sorted(textual) == sorted(broken)
    assert all(isinstance(backend(name).VERIFY_READS_FILES, bool) for name in TARGETS)
    for name in textual:
        assert backend(name).verify([Artifact(broken[name], "{not: [valid\n")], tmp_path), name
    assert list(tmp_path.iterdir()) == []


def test_targets_verified_side_by_side_report_in_target_order(monkeypatch, tmp_path):
    """`build` checks the targets in threads; what each finds comes back in the order of the targets asked for,
    whichever finishes first."""
    import time

    from obsctl import build
    from obsctl.backends import Artifact

    class Slow:
        VERIFY_READS_FILES = False

        def __init__(self, name: str, delay: float) -> None:
            self.name, self.delay = name, delay

        def verify(self, artifacts: list, staging: object) -> list:
            time.sleep(self.delay)
            return [f"{self.name}:{a.path}" for a in artifacts]

    delays = {"prometheus": 0.2, "loki": 0.0, "grafana": 0.1}
    monkeypatch.setattr(build, "backend", lambda name: Slow(name, delays[name]))
    artifacts = [Artifact(f"{n}/x", "") for n in ("grafana", "loki", "prometheus")]
    found = build._verify_all(["prometheus", "loki", "grafana"], artifacts, tmp_path)
    assert found == [["prometheus:prometheus/x"], ["loki:loki/x"], ["grafana:grafana/x"]]
