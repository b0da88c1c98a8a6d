"""The hooks in .pre-commit-hooks.yaml, run by the real `pre-commit` on real commits in a temporary repository.

pre-commit installs the hook repository (a snapshot of this checkout, committed) into its own virtualenv once per
module; PRE_COMMIT_HOME points into the test's temp dir so nothing of the user's cache is touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What `pip install .` of the hook repository reads; the rest of the checkout is not needed to run the hooks.
HOOK_REPO_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "obsctl", "templates", "specs")
GOOD = (REPO / "examples" / "asset-ws" / "obsctl.yaml").read_text(encoding="utf-8")
UNRELATED = {
    "deploy/k8s/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    # Helm values: a `service:` mapping and a `metrics:` key, but not a spec
    "charts/api/values.yaml": "replicaCount: 2\nservice:\n  type: ClusterIP\n  port: 80\nmetrics:\n  enabled: true\n",
    "ci/broken.yml": "jobs: [unclosed\n",  # not even YAML: validate would fail on it if it read it
}


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _snapshot(dest: Path) -> str:
    """This checkout's hook-relevant files (tracked and new, as they are now) committed in a fresh repository."""
    listed = _git(REPO, "ls-files", "-co", "--exclude-standard", "-z", "--", *HOOK_REPO_FILES).split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel, follow_symlinks=False)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "snapshot")
    return _git(dest, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with a spec in specs/, its committed Prometheus output in deploy/, and both hooks installed."""
    base = tmp_path_factory.mktemp("precommit")
    hooks = base / "obsctl-hooks"
    hooks.mkdir()
    rev = _snapshot(hooks)
    repo = base / "monitoring"
    (repo / "specs").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "specs" / "asset-ws.yaml").write_text(GOOD, encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "obsctl.cli",
            "build",
            "specs/asset-ws.yaml",
            "-t",
            "prometheus,loki",
            "--out",
            "deploy/asset-ws",
        ],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    (repo / ".pre-commit-config.yaml").write_text(
        f"""repos:
  - repo: {hooks}
    rev: {rev}
    hooks:
      - id: obsctl-validate
      - id: obsctl-build-check
        args: [specs/asset-ws.yaml, --target, "prometheus,loki", --out, deploy/asset-ws]
""",
        encoding="utf-8",
    )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "spec and its output")  # before the hook is installed
    env = _env(base)
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install", "--install-hooks"],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return repo


def _env(base: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PRE_COMMIT_HOME": str(base / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }


def _commit(repo: Path, message: str) -> subprocess.CompletedProcess:
    """`git commit` of everything staged, through the installed pre-commit hook."""
    _git(repo, "add", "-A")
    return subprocess.run(
        ["git", "commit", "-m", message],
        cwd=repo,
        env=_env(repo.parent),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_good_spec_and_unrelated_yaml_commit(user_repo: Path):
    """The hook checks the spec in specs/ (the old `files:` pattern only saw files named obsctl.yaml) and skips
    unrelated YAML, even YAML that does not parse."""
    spec = user_repo / "specs" / "asset-ws.yaml"
    spec.write_text(GOOD.replace("for: 10m", "for: 10m  # reviewed", 1), encoding="utf-8")
    for rel, text in UNRELATED.items():
        (user_repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (user_repo / rel).write_text(text, encoding="utf-8")
    proc = _commit(user_repo, "good")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "obsctl validate" in out and "Passed" in out
    assert "obsctl build --check" in out


def test_a_broken_spec_is_refused_with_its_location(user_repo: Path):
    spec = user_repo / "specs" / "asset-ws.yaml"
    good = spec.read_text(encoding="utf-8")
    broken = good.replace("when: api_error_rate_5m >= 0.05", "when: api_eror_rate_5m >= 0.05", 1)
    assert broken != good
    spec.write_text(broken, encoding="utf-8")
    line = broken.splitlines().index(next(x for x in broken.splitlines() if "api_eror_rate_5m" in x)) + 1
    column = broken.splitlines()[line - 1].index("api_eror") + 1
    proc = _commit(user_repo, "broken")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert f"specs/asset-ws.yaml:{line}:{column}: error OBS201" in out
    assert "did you mean 'api_error_rate_5m'" in out
    spec.write_text(good, encoding="utf-8")
    _git(user_repo, "reset", "-q")


def test_stale_output_is_refused_by_build_check(user_repo: Path):
    """A spec change without rebuilt output: validate passes, build --check fails with the diff."""
    spec = user_repo / "specs" / "asset-ws.yaml"
    good = spec.read_text(encoding="utf-8")
    spec.write_text(
        good.replace("when: api_error_rate_5m >= 0.05", "when: api_error_rate_5m >= 0.02", 1),
        encoding="utf-8",
    )
    proc = _commit(user_repo, "stale")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "file(s) are stale" in out and "+        expr: (service:api_error_rate_5m" in out
    spec.write_text(good, encoding="utf-8")
    _git(user_repo, "reset", "-q")
