"""Sources: HTTP probes, scrape jobs, and log events (which need a log source)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..diagnostics import did_you_mean

if TYPE_CHECKING:
    from .core import Checker


def check_sources(c: Checker) -> None:
    s = c.spec
    for name, p in s.sources.probes.items():
        if not p.url.startswith(("http://", "https://")):
            c.report(
                "OBS240",
                "error",
                f"probe '{name}' needs an http:// or https:// URL",
                ("sources", "probes", name, "url"),
            )
    check_scrape_jobs(c)
    for name, ev in s.events.items():
        if s.sources.logs is None:
            c.report(
                "OBS241",
                "error",
                f"event '{name}' needs a log source",
                ("events", name),
                "add sources: {logs: {type: loki}}",
                key=True,
            )
            break
        if not any(ev.stream.values()):  # Loki refuses `{}` and `{a=""}`: a query needs one non-empty matcher
            c.report(
                "OBS244",
                "error",
                f"event '{name}' has a stream selector with no label value",
                ("events", name, "stream"),
                "name the stream the lines come from, e.g. stream: {service: api}",
            )
        if ev.match == "regex":
            try:
                re.compile(ev.message)
            except re.error as e:
                c.report("OBS205", "error", f"invalid regex: {e}", ("events", name, "message"))


def check_scrape_jobs(c: Checker) -> None:
    src = c.spec.sources.metrics
    jobs = src.jobs(c.spec.service)
    seen: set[str] = set()
    for i, job in enumerate(src.scrape):
        if job.job in seen:
            c.report(
                "OBS243",
                "error",
                f"two scrape jobs are named '{job.job}'",
                ("sources", "metrics", "scrape", i, "job"),
                "Prometheus needs unique job names",
            )
        seen.add(job.job)
    want = src.selector.get("job")
    # A static `job` label wins over the job's name in Prometheus' target labels.
    names = {job.labels.get("job", job.job) for job in jobs}
    if jobs and want is not None and want not in names:
        c.report(
            "OBS242",
            "warning",
            f"the selector's job '{want}' is the job label of no scrape job, so "
            "queries select none of the series the scrape config collects",
            ("sources", "metrics", "selector", "job"),
            did_you_mean(want, names) or f"scrape jobs: {', '.join(sorted(names))}",
        )
