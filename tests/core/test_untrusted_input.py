"""What obsctl reads from a hostile spec: only regular YAML files, bounded in size and depth, whatever symlinks,
devices or FIFOs the spec names. Each test fails on the code before these checks."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsctl.cli import app

BASE = "service: demo\nmetrics: {up_total: {kind: counter}}\n"


def _validate(*args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(app, ["validate", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout or "[]")


def test_include_symlinked_to_a_non_spec_is_refused_unread(tmp_path, monkeypatch):
    """The `.yaml` check applies to the file a symlink leads to: /etc/passwd behind `passwd.yaml` is not read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "passwd.yaml").symlink_to("/etc/passwd")
    (tmp_path / "spec.yaml").write_text("include: [passwd.yaml]\n" + BASE)
    code, diags = _validate("spec.yaml")
    assert code == 1
    assert [(d["code"], d["file"], d["line"], d["column"]) for d in diags] == [("OBS009", "spec.yaml", 1, 11)]
    assert "link to a file that is not a YAML spec" in diags[0]["message"]
    assert "root" not in json.dumps(diags)  # nothing of the target's text is echoed


def test_include_of_a_device_behind_a_yaml_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dev").mkdir()
    os.mkfifo(tmp_path / "dev" / "pipe.yaml")  # a FIFO would block an ordinary open
    (tmp_path / "null.yaml").symlink_to(tmp_path / "dev" / "pipe.yaml")
    (tmp_path / "spec.yaml").write_text("include: [null.yaml]\n" + BASE)
    code, diags = _validate("spec.yaml")
    assert code == 1
    assert [(d["code"], d["line"], d["column"]) for d in diags] == [("OBS011", 1, 11)]


@pytest.mark.parametrize("name", ["/dev/zero", "zero.yaml", "fifo.yaml"])
def test_spec_that_is_not_a_regular_file(tmp_path, monkeypatch, name):
    """`validate /dev/zero` (stat size 0, endless) read until memory ran out; now OBS011 before reading."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.yaml")
    code, diags = _validate(name)
    assert code == 1
    assert [(d["code"], d["line"], d["column"]) for d in diags] == [("OBS011", 1, 1)]


def test_size_limit_counts_bytes_read_not_stat(tmp_path, monkeypatch):
    """The per-file limit holds for what is read: at most the limit plus one byte, whatever stat says."""
    from obsctl import yamlsource
    from obsctl.diagnostics import SpecError

    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "#" * 100 + "\n")
    with pytest.raises(SpecError) as e:
        yamlsource.read_text(path, "spec.yaml", limit=64)
    assert e.value.diagnostics[0].code == "OBS003"
    assert yamlsource.read_text(path, "spec.yaml", limit=len(path.read_bytes())) == path.read_text()


def test_includes_share_one_total_budget(tmp_path, monkeypatch):
    """Thirty includes just under 2 MiB each were all read; the include crossing 8 MiB in total is the error."""
    monkeypatch.chdir(tmp_path)
    names = []
    for i in range(6):
        (tmp_path / f"part{i}.yaml").write_text(f"vars: {{v{i}: 1}}\n" + "#" * (2 * 1024 * 1024 - 64) + "\n")
        names.append(f"part{i}.yaml")
    (tmp_path / "spec.yaml").write_text(BASE + "include:\n" + "".join(f"  - {n}\n" for n in names))
    code, diags = _validate("spec.yaml")
    assert code == 1
    assert [(d["code"], d["file"], d["line"]) for d in diags] == [("OBS012", "spec.yaml", 8)]
    assert "8 MiB" in diags[0]["message"] and "part4.yaml" in diags[0]["message"]


def test_includes_under_the_budget_still_merge(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "part.yaml").write_text("vars: {a: 1}\n" + "#" * (2 * 1024 * 1024 - 64) + "\n")
    (tmp_path / "spec.yaml").write_text(BASE + "include: [part.yaml]\n")
    assert _validate("spec.yaml") == (0, [])


@pytest.mark.parametrize(
    "text, line",
    [
        ("service: demo\nx: " + "[" * 500 + "]" * 500 + "\n", 2),
        ("service: demo\nx: " + "{a: " * 500 + "1" + "}" * 500 + "\n", 2),
        (
            "service: demo\nx:\n"
            + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(100))
            + " " * 101
            + "v\n",
            67,
        ),
    ],
)
def test_deep_nesting_is_an_error_at_its_line(tmp_path, monkeypatch, text, line):
    """'[' * 500 ended in a RecursionError; now OBS013 at the first node deeper than 64 levels."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(text)
    code, diags = _validate("spec.yaml")
    assert code == 1
    assert [(d["code"], d["line"]) for d in diags] == [("OBS013", line)]
    assert "64" in diags[0]["message"]


# --- what diagnostics print ------------------------------------------------------------------------------------

ESCAPES = 'service: demo\n"\\x1b[31mred": 1\n"\\x1b]0;title\\x07": 2\nx\u202ey: 3\n'


def test_human_report_escapes_control_characters(tmp_path, monkeypatch):
    """Keys holding terminal escape sequences (colour, window title) and a bidi override reached the terminal raw."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(ESCAPES, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "spec.yaml"])
    assert result.exit_code == 1
    err = result.stderr
    assert not any(c in err for c in "\x1b\x07\u202e"), repr(err)
    assert "unknown key '\\x1b[31mred'" in err and "unknown key '\\x1b]0;title\\x07'" in err
    # the excerpt of line 4 shows the raw U+202E escaped, and the caret still points under the key's column
    assert "  4 | x\\u202ey: 3" in err
    lines = err.splitlines()
    excerpt = lines.index("  4 | x\\u202ey: 3")
    assert lines[excerpt + 1] == "    | ^"


def test_json_report_keeps_json_escapes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(ESCAPES, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--format", "json", "spec.yaml"])
    assert "\x1b" not in result.stdout and "\\u001b[31mred" in result.stdout
    assert {d["message"] for d in json.loads(result.stdout)} >= {"unknown key '\x1b[31mred'"}


def test_github_annotations_follow_workflow_command_escaping():
    """`%`, CR and LF are %-escaped everywhere, `:` and `,` in properties; other controls become visible escapes."""
    import io

    from obsctl.diagnostics import Diagnostic, Location
    from obsctl.report import render_github

    out = io.StringIO()
    render_github(
        [
            Diagnostic(
                "OBS101",
                "error",
                "50% of\r\nkey '\x1b[31mred': a,b",
                Location("a,b:c%.yaml", 2, 1),
                hint="x\u202ey",
            )
        ],
        out,
    )
    assert out.getvalue() == (
        "::error file=a%2Cb%3Ac%25.yaml,line=2,col=1,title=OBS101::"
        "50%25 of%0D%0Akey '\\x1b[31mred': a,b (hint: x\\u202ey)\n"
    )


# --- --templates stays inside its folder ------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _templates_copy(tmp_path: Path) -> Path:
    """A --templates folder holding a copy of the shipped scrape template."""
    mine = tmp_path / "tpl"
    (mine / "prometheus").mkdir(parents=True)
    shutil.copy(ROOT / "obsctl" / "templates" / "prometheus" / "scrape.yml.j2", mine / "prometheus")
    return mine


SCRAPE = (
    "service: demo\nsources:\n  metrics: {type: prometheus, selector: {job: demo}, "
    "scrape: [{job: demo, targets: ['app:8000']}]}\nmetrics: {up_total: {kind: counter}}\n"
)


def _build_with(tmp_path: Path, templates: Path):
    (tmp_path / "spec.yaml").write_text(SCRAPE)
    result = CliRunner().invoke(
        app, ["build", "spec.yaml", "-t", "prometheus", "--out", "out", "--templates", str(templates)]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize("how", ["include-link", "include-dotdot", "override-link"])
def test_templates_never_read_outside_their_folder(tmp_path, monkeypatch, how):
    """Jinja followed symlinks out of --templates: `{% include %}` of a link read /etc/passwd into the output."""
    monkeypatch.chdir(tmp_path)
    mine = _templates_copy(tmp_path)
    scrape = mine / "prometheus" / "scrape.yml.j2"
    if how == "include-link":
        (mine / "prometheus" / "secret.j2").symlink_to("/etc/passwd")
        scrape.write_text('{% include "prometheus/secret.j2" %}\n' + scrape.read_text())
    elif how == "include-dotdot":
        scrape.write_text('{% include "../../../../../../etc/passwd" %}\n' + scrape.read_text())
    else:
        outside = tmp_path / "elsewhere.j2"
        scrape.rename(outside)
        scrape.symlink_to(outside)
    result = _build_with(tmp_path, mine)
    assert result.exit_code == 1, result.output
    assert "OBS014" in result.stderr and "Traceback" not in result.output
    assert "root:" not in result.output and not (tmp_path / "out").exists()


def test_links_inside_the_templates_folder_still_work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = _templates_copy(tmp_path)
    (mine / "shared.j2").write_text("# reviewed by the platform team\n")
    (mine / "prometheus" / "note.j2").symlink_to(mine / "shared.j2")
    scrape = mine / "prometheus" / "scrape.yml.j2"
    scrape.write_text('{% include "prometheus/note.j2" %}' + scrape.read_text())
    result = _build_with(tmp_path, mine)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "prometheus" / "demo.scrape.yml").read_text().startswith("# reviewed by")


def test_long_slo_name_is_an_error_at_its_key(tmp_path, monkeypatch):
    """A 240-character SLO name validated, then crashed the Datadog build (file name too long)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        BASE + "slos:\n  " + "a" * 240 + ":\n    objective: 99.9\n    sli: {bad: up_total, total: up_total}\n"
    )
    code, diags = _validate("spec.yaml")
    assert code == 1
    assert [(d["code"], d["line"], d["column"]) for d in diags] == [("OBS104", 4, 3)]
    assert "at most 100 characters" in diags[0]["message"]
    text = (tmp_path / "spec.yaml").read_text().replace("a" * 240, "a" * 100)
    (tmp_path / "spec.yaml").write_text(text)
    assert _validate("spec.yaml")[0] == 0
