"""HTTP probes: the blackbox-exporter scrape jobs the Prometheus target writes, and the `job` label each probe's
series carry (which the alert tests must give their series)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import Spec


def blackbox_jobs(spec: Spec) -> list[dict]:
    """One scrape job per blackbox module (split further when its probes differ in interval or timeout)."""
    by_key: dict[tuple[str, str, str], list[str]] = {}
    for p in spec.sources.probes.values():
        by_key.setdefault((p.module, p.interval, p.timeout), [])
        if p.url not in by_key[(p.module, p.interval, p.timeout)]:
            by_key[(p.module, p.interval, p.timeout)].append(p.url)
    modules = [k[0] for k in by_key]
    jobs = []
    for (module, interval, timeout), urls in by_key.items():
        job = (
            f"blackbox-{module}" if modules.count(module) == 1 else f"blackbox-{module}-{interval}-{timeout}"
        )
        jobs.append(
            {"name": job, "module": module, "interval": interval, "timeout": timeout, "targets": urls}
        )
    return jobs


def probe_job(spec: Spec, probe: str) -> str:
    """The `job` label the scrape config gives a probe's series."""
    p = spec.sources.probes[probe]
    for job in blackbox_jobs(spec):
        if job["module"] == p.module and job["interval"] == p.interval and job["timeout"] == p.timeout:
            return job["name"]
    raise KeyError(probe)
