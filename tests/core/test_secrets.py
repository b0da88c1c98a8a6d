"""Secrets never reach output inline, and diagnostics never echo one (issue 17).

The broken-spec table (test_broken_specs.py) holds the code, line and column of each refused URL and address;
here: what the three report formats print about them, and the masking itself."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.report import excerpt
from obsctl.secrets import find_credentials, mask

SECRETS = [
    "abcd1234",
    "hunter2",
    "s3cretpw",
    "k3yvalue",
    "zzz9sig",
    "pw0rdsmtp",
    "tok42tok",
    "pdpass77",
    "XYZSECRET",
    "bbpass55",
    "p4sswd",
]

SPEC = """\
service: svc
runbook: https://wiki.example.org/rb?token=abcd1234
sources:
  metrics:
    targets: ["scraper:hunter2@app:8000"]
  probes:
    p1: {url: "https://bob:s3cretpw@example.org/health?api_key=k3yvalue", typo: 1}
metrics:
  x_total: {kind: counter}
alerts:
  A: {severity: P1, when: rate(x_total) > 1, annotations: {dash: "see https://g.example.org/d?X-Amz-Signature=zzz9sig"}}
routing:
  smtp: {smarthost: "mailer:pw0rdsmtp@smtp.example.org:587", from: a@example.org}
  receivers:
    r1: {webhook: {url: "https://example.org/hook?Token=tok42tok"}, pagerduty: {routing_key_file: /x, url: "https://u:pdpass77@events.example.org/v2"}}
    r2: {slack: {api_url_file: "https://hooks.slack.com/services/T0/B0/XYZSECRET"}}
    r3: {webhook: {url: "https://u:p4sswd\\x40example.org/"}}
  severities:
    P1: [r1, r2, r3]
targets:
  prometheus: {blackbox_exporter: "u:bbpass55@bb:9115"}
"""


@pytest.mark.parametrize("fmt", ["human", "json", "github"])
def test_no_report_format_echoes_a_secret(tmp_path, monkeypatch, fmt):
    """Before: the refused URL came back in the message ('... does not have the expected form') and in the quoted
    spec line. After: every secret is refused, and neither the messages nor the quoted lines show one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC)
    result = CliRunner().invoke(app, ["validate", "--format", fmt, "spec.yaml"])
    assert result.exit_code == 1
    out = result.output
    assert out.count("OBS107") >= 9 and "OBS108" in out, out
    leaked = [s for s in SECRETS if s in out]
    assert not leaked, out
    if fmt == "human":
        # the lines are still quoted, masked, with the caret on the same character
        assert '  7 |     p1: {url: "https://bob:***@example.org/health?api_key=***", typo: 1}' in out
        line = next(ln for ln in out.splitlines() if "unknown key 'typo'" in ln)
        caret = out.splitlines()[out.splitlines().index(line) + 2]
        masked = out.splitlines()[out.splitlines().index(line) + 1]
        assert masked[caret.index("^")] == "t"


def test_mask():
    assert (
        mask("url: https://user:pw@host/x?token=abc&page=2#sig=zz")
        == "url: https://user:***@host/x?token=***&page=2#sig=***"
    )
    assert mask("https://ghp_TOKEN@github.com/org/repo") == "https://***@github.com/org/repo"
    assert (
        mask("smarthost: u:secret@smtp:587, to: ops@example.org")
        == "smarthost: u:***@smtp:587, to: ops@example.org"
    )
    assert (
        mask("?monkey=1&keyboard=2&API-KEY=3&client_secret=4")
        == "?monkey=1&keyboard=2&API-KEY=***&client_secret=***"
    )
    assert mask("no secrets: a=b, c@d") == "no secrets: a=b, c@d"


def test_excerpt_moves_the_caret_past_masked_text_and_hides_what_it_cannot_mask():
    line = '{url: "https://u:longpassword@h/", typo: 1}'
    shown, col = excerpt(line, line.index("typo") + 1)
    assert shown[col - 1 :].startswith("typo")
    # a secret written with a YAML escape cannot be masked reliably: the line is left out
    assert excerpt('url: "https://u:p4sswd\\x40h/"', 6, ("u:p4sswd",)) == ("", 0)


def test_find_credentials():
    assert [c.what for c in find_credentials("https://u:p@h/")] == ["userinfo"]
    assert [c.name for c in find_credentials("https://h/?a=1&Signature=x&private_token=y")] == [
        "Signature",
        "private_token",
    ]
    assert find_credentials("u:p@h:25")[0].value == "u:p"
    assert find_credentials("https://h/path@x?page=2") == []  # '@' in the path is no userinfo
    assert find_credentials("https://h/?token=") == []  # an empty value holds nothing


def test_secret_file_settings_still_take_paths(tmp_path, monkeypatch):
    """The checks refuse inline secrets only: paths in *_file settings and clean URLs validate."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text("""\
service: svc
runbook: https://wiki.example.org/runbooks/svc?page=2#alerts
metrics:
  x_total: {kind: counter}
alerts:
  A: {severity: P1, when: rate(x_total) > 1}
routing:
  smtp: {smarthost: "smtp.example.org:587", from: a@example.org, auth_username: u, auth_password_file: /s/pw}
  receivers:
    r1: {webhook: {url: "https://example.org/hook?channel=ops", credentials_file: /s/token}, email: {to: ops@example.org}}
    r2: {slack: {api_url_file: /etc/alertmanager/secrets/slack}, pagerduty: {routing_key_file: /s/pd}}
  severities:
    P1: [r1, r2]
""")
    result = CliRunner().invoke(app, ["validate", "spec.yaml"])
    assert result.exit_code == 0, result.output
