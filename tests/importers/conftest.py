"""The kube-prometheus corpus, committed under tests/corpus/kube-prometheus (Apache-2.0, its LICENSE beside it), so
the tests do not depend on what lies beside the checkout; OBSCTL_CORPUS points elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path | None:
    env = os.environ.get("OBSCTL_CORPUS")
    candidates = [Path(env)] if env else []
    candidates += [
        REPO / "tests" / "corpus" / "kube-prometheus",
        REPO.parent / "shared" / "corpus" / "kube-prometheus",
        REPO.parent.parent / "shared" / "corpus" / "kube-prometheus",
    ]
    return next((c for c in candidates if (c / "grafana-dashboardDefinitions.yaml").is_file()), None)


@pytest.fixture(scope="module")
def corpus() -> Path:
    found = corpus_dir()
    if found is None:
        msg = "the kube-prometheus corpus (../shared/corpus/kube-prometheus, or OBSCTL_CORPUS) is not there"
        if os.environ.get("CI") == "true":
            pytest.fail(f"required in CI: {msg}")
        pytest.skip(f"SKIPPED, {msg}")
    return found
