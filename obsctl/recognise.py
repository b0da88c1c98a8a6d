"""Which YAML files are obsctl specs, decided without parsing them: pre-commit hands `validate --only-specs` every
staged YAML file (Kubernetes manifests, CI files, Helm values) and the unrelated ones must be skipped fast.

A file is a spec when any of these holds:
- it is named `obsctl.yaml` (or `obsctl.<anything>.yaml`, `.yml`);
- it has a `# yaml-language-server: $schema=...obsctl.schema.json` line (the editor set-up the README gives);
- its top level has `service: <name>` (a scalar on the same line: Helm values have a `service:` mapping) and
  at least one other key of the spec (`alerts:`, `metrics:`, `routing:`, ...).
Keys are read from lines that start in column 0, so a spec with a YAML error further down is still recognised
(and then reported). Fragments that only other specs `include:` have no `service:`; they are checked through
the specs that include them (or give them the schema line to have them checked on their own).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# The spec's top-level keys (obsctl.model.Spec) besides `service`; kept here as text so recognising a file
# imports no model. tests/gitops/test_targets_and_recognise.py keeps the list equal to the model's.
SPEC_KEYS = frozenset(
    {
        "version",
        "team",
        "description",
        "runbook",
        "include",
        "labels",
        "vars",
        "defaults",
        "sources",
        "metrics",
        "events",
        "derived",
        "dashboards",
        "alerts",
        "slos",
        "routing",
        "tests",
        "targets",
        "lint",
        "environments",
    }
)
_TOP_KEY = re.compile(r"^(?:\"([^\"]+)\"|'([^']+)'|([A-Za-z_][A-Za-z0-9_-]*))[ \t]*:(?:[ \t]|$)", re.M)
_SERVICE = re.compile(
    r"^[\"']?service[\"']?[ \t]*:[ \t]*[\"']?[\w.-]", re.M
)  # `service: name`, not a mapping
_SCHEMA_LINE = re.compile(r"^#[ \t]*yaml-language-server:[ \t]*\$schema=\S*obsctl\.schema\.json", re.M)
_SPEC_NAME = re.compile(r"^obsctl(\.[^/]*)?\.ya?ml$")
_READ_LIMIT = 256 * 1024  # enough to see the top-level keys of any real spec; a larger file is not read whole


def top_level_keys(text: str) -> set[str]:
    """Keys of the top-level mapping, from lines that start in column 0 (block style YAML)."""
    return {m.group(1) or m.group(2) or m.group(3) for m in _TOP_KEY.finditer(text)}


def is_spec_text(text: str) -> bool:
    if _SCHEMA_LINE.search(text):
        return True
    return _SERVICE.search(text) is not None and bool(top_level_keys(text) & SPEC_KEYS)


def is_spec(path: Path) -> bool:
    """Whether `path` looks like an obsctl spec; False for files that cannot be read (validate reports those
    when asked to check them without --only-specs)."""
    if _SPEC_NAME.match(path.name):
        return True
    from .yamlsource import open_regular

    try:
        fd = open_regular(path)  # a FIFO or a device is no spec, and must not hang or act when opened
        if fd is None:
            return False
        with os.fdopen(fd, "rb") as f:
            data = f.read(_READ_LIMIT)
    except OSError:
        return False
    return is_spec_text(data.decode("utf-8", errors="replace"))
