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
    # the forms the check accepts without a full parse, and their near misses
    ("{{$value}} {{ $labels.a|title }} {{ $value | humanize1024 }}", True),
    ("{{{ $value }}", False),
    ("{{ $value }}}", True),
    ("x {{ $labels.a.b }}", True),
    ("{{ $value }} {{ $nope }}", False),
    ("{{ $value }} {{", False),
    ("{{  $value  }}", True),
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
    ('{{ `"` }}', True),
    ('{{ "$foo" }}', True),
    ('{{ range $i, $e := query "up" }}{{ $e.Value }}{{ end }}', True),
    ("{{ $x := 1 }}{{ $x }}", True),
    ('{{ "a\\nb" }}', True),
    ('{{ "a\nb" }}', False),
    # what the check got wrong both ways (issue 17): Go's lexer, number syntax, pipelines and range-only keywords
    ("{{ 7*7 }}", False),
    ("{{ 1 | 2 }}", False),
    ("{{ break }}", False),
    ("{{ 1e1000 }}", False),
    ("{{ externalURL }}", True),
    ("{{ strvalue $value }}", True),
    ("{{ continue }}", False),
    ("{{ range $x := 1 }}{{ break }}{{ end }}", True),
    ("{{ range 1 }}{{ if 1 }}{{ continue }}{{ end }}{{ end }}", True),
    ("{{ range 1 }}{{ break }}{{ else }}{{ break }}{{ end }}", False),
    ("{{ break 1 }}", False),
    ("{{ printf | nil }}", False),
    ('{{ "x" | $value }}', True),
    ("{{ $value | humanize | }}", True),
    ("{{ | humanize }}", False),
    ("{{ (humanize 1 }}", False),
    ("{{ humanize 1) }}", False),
    ("{{ 1,2 }}", False),
    ("{{ $a, $b := 1 }}", False),
    ("{{ range $i, $e := 1 }}{{ $i }}{{ $e }}{{ end }}", True),
    ("{{ with $x := 1 }}{{ $x }}{{ end }}{{ $x }}", False),
    ("{{ if $x := 1 }}{{ else }}{{ $x }}{{ end }}", True),
    ('{{ define "x" }}{{ $value }}{{ end }}', False),
    ("{{ else }}", False),
    ("{{ if 1 }}{{ else }}{{ else }}{{ end }}", False),
    ("{{ range 1 }}{{ else if 1 }}{{ end }}", False),
    ("{{ if eq 1 1 }}a{{ else if eq 2 2 }}b{{ else }}c{{ end }}", True),
    ("{{ true.x }}", False),
    ("{{ (printf).x }}", True),
    ("{{ $labels.a-b }}", False),
    ('{{ "\\q" }}', False),
    ("{{-3}}", True),
    ("{{ 08 }}", False),
    ("{{ 09.5 }}", True),
    ("{{ 00 }}", True),
    ("{{ 1x }}", False),
    ("{{ 1.2.3 }}", False),
    ("{{ 1_000 }}", True),
    ("{{ 1__0 }}", False),
    ("{{ 1_.5 }}", False),
    ("{{ 0x1p-2 }}", True),
    ("{{ 0x1_p1 }}", False),
    ("{{ 0x }}", False),
    ("{{ 1e400i }}", False),
    ("{{ 1+2i }}", True),
    ("{{ 18446744073709551616 }}", False),
    ("{{ 9223372036854775808 }}", True),
    ("{{ -9223372036854775809 }}", False),
]


@pytest.mark.parametrize("text, valid", CASES)
def test_template_check_agrees_with_promtool(text, valid, tmp_path, promtool):
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    annotations:\n"
        f"      summary: {json.dumps(text)}\n"
    )
    accepted = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True).returncode == 0
    assert accepted == valid, f"promtool {'accepts' if accepted else 'rejects'} {text!r}"
    assert (template_error(text) == "") == valid, template_error(text)
