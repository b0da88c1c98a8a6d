"""The example CI files in docs/ci/: valid YAML whose obsctl commands exist with the options they use, and the
GitHub workflow's check steps, run as written in a repository laid out as its comment says, pass on a good change
and write the diff comment."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml

from obsctl.cli import app

REPO = Path(__file__).resolve().parents[2]
CI = REPO / "docs" / "ci"


def _scripts(doc: object) -> list[str]:
    """Every shell text of a workflow (GitHub `run:`) or pipeline (GitLab `script:`/`before_script:`)."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == "run" and isinstance(v, str):
                out.append(v)
            elif k in ("script", "before_script") and isinstance(v, list):
                out += [str(x) for x in v]
            else:
                out += _scripts(v)
    elif isinstance(doc, list):
        for v in doc:
            out += _scripts(v)
    return out


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_obsctl_commands_in_the_ci_examples_exist(name):
    doc = yaml.safe_load((CI / name).read_text(encoding="utf-8"))
    group = typer.main.get_command(app)
    used = 0
    for script in _scripts(doc):
        for line in script.splitlines():
            m = re.search(r"(?:^|\s)obsctl (\w+)(.*?)(?:\|\||$)", line)
            if not m:
                continue
            command = group.commands.get(m.group(1))
            assert command is not None, line
            known = {o for p in command.params if p.param_type_name == "option" for o in p.opts}
            for word in shlex.split(m.group(2).replace("$", "X").split(">")[0]):
                if word.startswith("-"):
                    assert word in known, f"{name}: {word} is not an option of obsctl {m.group(1)}"
            used += 1
    assert used >= 3


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_the_github_workflow_steps_run(tmp_path):
    steps = yaml.safe_load((CI / "github-actions.yml").read_text())["jobs"]["obsctl"]["steps"]
    run = {s["name"]: s["run"] for s in steps if "run" in s}
    repo = tmp_path / "monitoring"
    (repo / "specs").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "asset-ws" / "obsctl.yaml", repo / "specs" / "asset-ws.yaml")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "BASE": "main"}
    build = ["obsctl", "build", "specs/asset-ws.yaml", "--target", "all", "--out", "deploy/asset-ws"]
    subprocess.run(build, cwd=repo, env=env, check=True, capture_output=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    spec = repo / "specs" / "asset-ws.yaml"  # the pull request: a threshold, rebuilt output
    spec.write_text(spec.read_text().replace("api_error_rate_5m >= 0.05", "api_error_rate_5m >= 0.02"))
    subprocess.run(build, cwd=repo, env=env, check=True, capture_output=True)

    for name in ("Validate (annotations on the changed lines)", "Committed output is current"):
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", run[name]],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, f"{name}: {proc.stdout}{proc.stderr}"
    diff_only = run["What the change does"].split("gh pr comment", 1)[0]
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", diff_only],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    comment = (repo / "obsctl-diff.md").read_text()
    assert "- **APIHighErrorRate** changed" in comment and "| threshold | `>= 0.05` | `>= 0.02` |" in comment
