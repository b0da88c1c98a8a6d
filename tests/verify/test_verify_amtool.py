from pathlib import Path

import pytest

from obsctl.verify.amtool import AmtoolError, check_config, routes_test, verify_route

DATA = Path(__file__).parent / "data"
REALISTIC = DATA / "alertmanager_realistic.yml"


@pytest.fixture
def amtool(require_tool):
    require_tool("amtool")


def test_realistic_config_passes(amtool):
    assert check_config(REALISTIC) == []


MINIMAL = """
route:
  receiver: default
receivers:
  - name: default
"""

BAD_CONFIGS = {
    "unknown field": (MINIMAL + "foo: 1\n", "field foo not found"),
    "undefined receiver": (
        "route:\n  receiver: default\n  routes:\n    - receiver: nope\nreceivers:\n  - name: default\n",
        'undefined receiver "nope" used in route',
    ),
    "msteams needs 0.26": (
        MINIMAL + "    msteams_configs:\n      - webhook_url: 'http://x'\n",
        "msteams_configs",
    ),
    "group_by must be a list": (
        "route:\n  receiver: default\n  group_by: alertname\nreceivers:\n  - name: default\n",
        "cannot unmarshal",
    ),
    "continue on root": (
        "route:\n  receiver: default\n  continue: true\nreceivers:\n  - name: default\n",
        "cannot have continue in root route",
    ),
    "no route": ("receivers:\n  - name: default\n", "no routes provided"),
    "unpadded time": (
        MINIMAL + "time_intervals:\n  - name: bh\n    time_intervals:\n"
        "      - times: [{start_time: '9:00', end_time: '17:00'}]\n",
        "couldn't parse timestamp 9:00",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_configs_are_rejected(amtool, tmp_path, case):
    text, expected = BAD_CONFIGS[case]
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    problems = check_config(path)
    assert len(problems) == 1, problems
    assert problems[0].file == str(path)
    assert expected in problems[0].message


def test_routes_test_follows_continue(amtool):
    labels = {"service": "asset-worker", "severity": "critical"}
    assert routes_test(REALISTIC, labels) == ["pagerduty-asset-worker", "slack-asset-worker"]


def test_routes_test_falls_back_to_root_receiver(amtool):
    assert routes_test(REALISTIC, {"team": "nobody"}) == ["default-slack"]


def test_routes_test_regex_and_legacy_matchers(amtool):
    assert routes_test(REALISTIC, {"team": "data", "env": "staging"}) == ["email-oncall"]
    assert routes_test(REALISTIC, {"team": "legacy", "env": "production"}) == ["webhook-audit"]


def test_label_values_with_quotes_and_commas_survive(amtool, tmp_path):
    path = tmp_path / "am.yml"
    path.write_text(
        r"""
route:
  receiver: default
  routes:
    - receiver: quoted
      matchers: ['msg="a \"b\", c"']
receivers:
  - name: default
  - name: quoted
"""
    )
    assert check_config(path) == []
    assert routes_test(path, {"msg": 'a "b", c'}) == ["quoted"]


def test_routes_test_on_invalid_config_raises(amtool, tmp_path):
    path = tmp_path / "am.yml"
    path.write_text(MINIMAL + "foo: 1\n")
    with pytest.raises(AmtoolError, match="field foo not found"):
        routes_test(path, {"a": "b"})


def test_verify_route(amtool):
    labels = {"service": "asset-worker", "severity": "critical"}
    assert verify_route(REALISTIC, labels, ["pagerduty-asset-worker", "slack-asset-worker"]) is None
    problem = verify_route(REALISTIC, labels, ["pagerduty-asset-worker"])
    assert problem is not None
    assert problem.message == (
        "alert routed to [pagerduty-asset-worker, slack-asset-worker], expected [pagerduty-asset-worker]"
    )
    assert problem.where == '{service="asset-worker", severity="critical"}'
