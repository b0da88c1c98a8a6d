"""`validate`'s check of alert templates (OBS303) agrees with promtool, which parses them as Prometheus does."""

from __future__ import annotations

import json
import subprocess

import pytest

from obsctl.semantics import template_error

# (template, valid for Prometheus): quoted strings may hold `}}`, and `}}` outside an action is plain text.
CASES = [
    ('{{ "}}" }}', True),
    ("load }} high", True),
    ('{{ reReplaceAll "}}" "x" $labels.route }}', True),
    ("{{ `}}` }}", True),
    ("{{ '}' }}", True),
    ("{{/* don't page */}}ok", True),
    ('{{ "a\\"}}" }}', True),
    ("{{ $value | humanizePercentage }} of {{ $labels.route }}", True),
    ('{{ "a }}', False),
    ("{{ $value", False),
    ("{{ }}", False),
    ("{{ $value | humanizePercent }}", False),
    ("{{ if $labels.route }}x", False),
    ("{{ $nope }}", False),
    ("{{ '}}' }}", False),
    ("{{ /* c */ }}", False),
    ("{{/* c */ }}", False),
    ("{{- /* c */ -}}ok", True),
    ("{{ `\"` }}", True),
    ('{{ "$foo" }}', True),
    ('{{ range $i, $e := query "up" }}{{ $e.Value }}{{ end }}', True),
    ("{{ $x := 1 }}{{ $x }}", True),
    ('{{ "a\\nb" }}', True),
    ('{{ "a\nb" }}', False),
]


@pytest.mark.parametrize("text, valid", CASES)
def test_template_check_agrees_with_promtool(text, valid, tmp_path, promtool):
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    annotations:\n"
                     f"      summary: {json.dumps(text)}\n")
    accepted = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True).returncode == 0
    assert accepted == valid, f"promtool {'accepts' if accepted else 'rejects'} {text!r}"
    assert (template_error(text) == "") == valid, template_error(text)
