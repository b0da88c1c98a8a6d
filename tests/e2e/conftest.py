"""End-to-end tests: real Prometheus and Alertmanager on loopback. Select them with `pytest -m e2e`."""

from __future__ import annotations


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "e2e: starts real Prometheus and Alertmanager processes (Debian packages)"
    )
