"""The `obsctl` command line. Each command imports what it needs when it runs: `validate` is on every commit."""

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from .targets import TARGETS

app = typer.Typer(
    name="obsctl",
    help="Monitoring as code: one YAML spec compiled to Prometheus, Loki, Alertmanager, Grafana and Datadog.",
    no_args_is_help=True,
    add_completion=True,  # `obsctl --install-completion` (bash, zsh, fish, PowerShell)
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    human = "human"
    json = "json"
    github = "github"


# The target choices come from the backend registry (its names only: no backend module is imported here).
Target = StrEnum("Target", {name: name for name in (*TARGETS, "all")})
TARGET_HELP = f"target(s): {', '.join(t.value for t in Target)}; repeat -t or separate with commas"


def _targets(values: list[str] | None) -> list[str]:
    """`-t prometheus -t loki` and `-t prometheus,loki` alike; every name checked against the registry."""
    names = [n.strip() for v in values or [] for n in v.split(",") if n.strip()]
    choices = [t.value for t in Target]
    for n in names:
        if n not in choices:
            raise typer.BadParameter(f"'{n}' is not one of {', '.join(choices)}")
    return list(dict.fromkeys(names)) or ["all"]


def _complete_target(incomplete: str) -> list[str]:
    done, _, last = incomplete.rpartition(",")
    return [f"{done},{t.value}" if done else t.value for t in Target if t.value.startswith(last)]


TargetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-t",
        help=TARGET_HELP,
        callback=_targets,
        metavar="TARGET[,TARGET]",
        autocompletion=_complete_target,
        show_default="all",
    ),
]


SpecArg = Annotated[Path, typer.Argument(help="spec file", show_default=False)]


def _env_name(value: str | None) -> str | None:
    # The name becomes part of paths (build/<service>-<env>, the file list in --out): refuse '/' and '..' here.
    from .model import env_name_problem

    if value is not None and (problem := env_name_problem(value)):
        raise typer.BadParameter(problem)
    return value


def _codes(values: list[str] | None) -> list[str]:
    import re

    codes = [c.strip().upper() for v in values or [] for c in v.split(",") if c.strip()]
    for c in codes:
        if not re.fullmatch(r"OBS[0-9]{3}", c):
            raise typer.BadParameter(f"'{c}' is not a diagnostic code (OBS followed by three digits)")
    return codes


EnvOpt = Annotated[
    str | None, typer.Option("--env", "-e", help="apply this environment's overrides", callback=_env_name)
]


def _emit(diags: list, smap: object, fmt: Format) -> None:
    from . import report

    if fmt is Format.json:
        report.render_json(diags)
    elif fmt is Format.github:
        report.render_github(diags)
    else:
        report.render_human(diags, smap)


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="spec files", show_default=False)],
    env: EnvOpt = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="output format")] = Format.human,
    strict: Annotated[bool, typer.Option("--strict", help="treat warnings as errors")] = False,
    only_specs: Annotated[
        bool,
        typer.Option(
            "--only-specs",
            help="skip files that are not obsctl specs (a top-level `service:` and another spec key); "
            "for pre-commit and globs over all YAML",
        ),
    ] = False,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            metavar="CODE[,CODE]",
            help="leave out warnings with these codes (OBS311,OBS242); errors stay",
            callback=lambda v: _codes(v),
        ),
    ] = None,
) -> None:
    """Check specs: structure, references, expressions, routing. Exit 0 clean, 1 on errors."""
    from .pipeline import check

    if only_specs:
        from .recognise import is_spec

        specs = [p for p in specs if is_spec(p)]
    all_diags = []
    failed = False
    for path in specs:
        result = check(path, env, every_env=True, ignore=frozenset(ignore or ()), targets=True)
        all_diags.extend(result.diagnostics)
        if fmt is Format.human:
            _emit(result.diagnostics, result.smap, fmt)
        bad = not result.ok or (strict and result.diagnostics)
        failed = failed or bad
        if fmt is Format.human:
            errors = sum(d.level == "error" for d in result.diagnostics)
            warnings = len(result.diagnostics) - errors
            status = "invalid" if bad else "ok"
            extra = f" ({errors} error(s), {warnings} warning(s))" if result.diagnostics else ""
            from .report import shown_path

            print(f"{shown_path(path)}: {status}{extra}", file=sys.stderr if bad else sys.stdout)
    if fmt is not Format.human:
        _emit(all_diags, None, fmt)
    raise typer.Exit(1 if failed else 0)


@app.command()
def build(
    spec: SpecArg,
    target: TargetOpt = None,
    env: EnvOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="output directory (default: build/<service>[-<env>])")
    ] = None,
    templates: Annotated[
        Path | None, typer.Option("--templates", help="directory with your own template copies")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="prometheus output: rules (default) or prometheusrule")
    ] = "rules",
    check_only: Annotated[
        bool, typer.Option("--check", help="exit 1 with a diff when the files in --out are stale")
    ] = False,
) -> None:
    """Compile a spec to the target's files, checked before anything is written."""
    from .build import run_build

    code = run_build(spec, target or ["all"], env, out, templates, fmt, check_only)
    raise typer.Exit(code)


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


@app.command()
def diff(
    spec: SpecArg,
    against: Annotated[
        str,
        typer.Option(
            "--against",
            "-a",
            help="a git revision (the spec as it was there) or a directory of output built earlier",
        ),
    ],
    env: EnvOpt = None,
    target: TargetOpt = None,
    fmt: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="text, markdown (a pull-request comment) or json")
    ] = DiffFormat.text,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="exit 1 when anything changed")] = False,
) -> None:
    """What building the spec would change: alerts, records, routes, receivers, panels, monitors."""
    from .diff import run_diff

    raise typer.Exit(run_diff(spec, env, against, target or ["all"], fmt.value, exit_code))


@app.command()
def docs(
    spec: SpecArg,
    env: EnvOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="output directory (default: build/docs/<service>[-<env>])"),
    ] = None,
) -> None:
    """Write the on-call page, the alert catalog and dashboard layout pictures (Markdown and SVG)."""
    from .catalog import run_docs

    raise typer.Exit(run_docs(spec, env, out))


class ExplainFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def explain(
    spec: SpecArg,
    name: Annotated[
        str | None,
        typer.Argument(
            help="an alert, derived metric or panel (title, or dashboard/title)", show_default=False
        ),
    ] = None,
    env: EnvOpt = None,
    fmt: Annotated[ExplainFormat, typer.Option("--format", "-f", help="text or json")] = ExplainFormat.text,
) -> None:
    """What obsctl made of an expression: the parsed tree, the labels it keeps, and each target's query."""
    from .explain import run_explain

    raise typer.Exit(run_explain(spec, name, env, fmt.value))


@app.command("test")
def test_cmd(
    spec: SpecArg,
    env: EnvOpt = None,
    templates: Annotated[
        Path | None, typer.Option("--templates", help="directory with your own template copies")
    ] = None,
) -> None:
    """Run the spec's alert tests (promtool) and route tests (amtool)."""
    from .testing import run_tests

    raise typer.Exit(run_tests(spec, env, templates))


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="write to this file instead of stdout")
    ] = None,
) -> None:
    """Print the spec's JSON Schema (for editors with yaml-language-server)."""
    from .schema import schema_text

    text = schema_text()
    if out:
        from .files import write_or_say_why

        if not write_or_say_why(out, text):
            raise typer.Exit(1)
    else:
        sys.stdout.write(text)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="where to write the starter spec")] = Path("obsctl.yaml"),
    service: Annotated[str, typer.Option("--service", help="service name")] = "my-service",
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Write a starter spec that validates and builds."""
    from .starter import write_starter

    raise typer.Exit(write_starter(path, service, force))


class ImportKind(StrEnum):
    prometheus = "prometheus"
    alertmanager = "alertmanager"
    grafana = "grafana"
    datadog = "datadog"
    sloth = "sloth"
    openslo = "openslo"


@app.command("import")
def import_cmd(
    kind: Annotated[ImportKind, typer.Argument(help="what the files are", show_default=False)],
    files: Annotated[
        list[Path],
        typer.Argument(
            help="files (a directory of dashboards for grafana; monitor JSON for datadog; SLO specs for sloth, openslo)",
            show_default=False,
        ),
    ],
    service: Annotated[
        str | None, typer.Option("--service", help="service name (default: from the input)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="spec file to write (default: stdout)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="report format: human or json")] = "human",
    force: Annotated[bool, typer.Option("--force", help="replace an existing --out file")] = False,
) -> None:
    """Write a spec from existing rules, routing or dashboards, and report what could not be carried over.
    Exit 0 when everything was, 1 when something was reported."""
    if fmt not in ("human", "json"):
        print(f"error: --format must be 'human' or 'json', not '{fmt}'", file=sys.stderr)
        raise typer.Exit(2)
    from .importers import run

    raise typer.Exit(run(kind.value, files, service, out, fmt, force))


@app.command()
def version() -> None:
    """Print obsctl's version."""
    from . import __version__

    print(__version__)


def main() -> None:
    # obsctl's models are internal: the command skips pydantic's plugin discovery, a scan of every installed
    # package's entry points (5 ms with 117 packages, more with more). Set here, not in the library, so
    # embedders keep theirs.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if sys.argv[1:2] == ["validate"]:
        # A validate process imports, reads and checks, prints and exits: what it allocates stays referenced to the
        # end, so cyclic collections free nothing and cost 13% of a cold validate of the largest example and 20% at
        # 10,000 alerts (peak memory the same with or without). Only here: the library (pipeline.check) pauses
        # collection while it checks and restores it, for embedders and the other commands.
        import gc

        gc.disable()
        try:
            app()
        except SystemExit as e:
            _exit_without_teardown(e)
        return
    app()


def _exit_without_teardown(e: SystemExit) -> NoReturn:
    """Exit as SystemExit would, without freeing every node, value and tree one by one at interpreter exit
    (0.16 s at 10,000 alerts). Only for validate, which holds no file, thread or temporary directory to close."""
    if e.code is not None and not isinstance(e.code, int):
        print(e.code, file=sys.stderr)  # as the interpreter would for sys.exit("message")
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: as the interpreter's exit would
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    main()
