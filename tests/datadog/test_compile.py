"""The expression -> Datadog query compiler: names, tag filters, rolling and count forms, guards, log searches."""

from __future__ import annotations

import re

import pytest

from obsctl.compile.datadog import Datadog, logs_query, num
from obsctl.compile.promql import CompileError
from obsctl.expr.parser import parse

BASE = """
service: checkout
sources:
  metrics: {selector: {job: checkout}}
  logs: {type: loki, format: json, message_field: msg}
metrics:
  api_requests_total: {kind: counter, labels: [code, route]}
  api_errors_total: {kind: counter}
  queue_depth: {kind: gauge, aggregate: max}
  latency_seconds: {kind: histogram, buckets: [0.1, 0.5]}
events:
  done: {stream: {service: worker}, message: refresh cycle completed}
  done_errors: {stream: {service: worker}, message: refresh cycle completed with errors}
derived:
  error_ratio: delta(api_errors_total) / max(delta(api_requests_total), 1)
"""


@pytest.fixture
def dd(checked):
    def make(targets: str = "", extra: str = "") -> Datadog:
        c = checked(BASE + extra + (f"targets:\n  datadog: {targets}\n" if targets else ""))
        return Datadog(c.spec, c.analysis.refs, c.analysis.exprs)

    return make


def inline(compiler: Datadog, text: str, **kw) -> str:
    return compiler.formula(parse(text), **kw).inline()


# --- metric names ---------------------------------------------------------------------------------------------


def test_default_names_use_dots(dd):
    c = dd()
    assert c.metric_name("api_requests_total") == "api.requests.total"
    assert c.metric_name("latency_seconds_count") == "latency.seconds.count"


def test_openmetrics_names(dd):
    c = dd("{namespace: checkout, dots: false, counter_suffix: .count}")
    assert c.metric_name("api_requests_total") == "checkout.api_requests.count"
    assert c.metric_name("queue_depth") == "checkout.queue_depth"
    assert c.metric_name("latency_seconds_bucket") == "checkout.latency_seconds.bucket"


def test_explicit_names_win(dd):
    c = dd("{metric_names: {api_requests_total: http.hits}}", extra="")
    assert c.metric_name("api_requests_total") == "http.hits"


# --- tag filters ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr,expected",
    [
        ('rate(api_requests_total{code="500"})', "{job:checkout,code:500}"),
        ('rate(api_requests_total{code!="500"})', "{job:checkout,!code:500}"),
        ('rate(api_requests_total{code=~"5.*"})', "{job:checkout,code:5*}"),
        ('rate(api_requests_total{route=~".*/admin"})', "{job:checkout,route:*/admin}"),
        ('rate(api_requests_total{code!~"5.*"})', "{job:checkout,!code:5*}"),
        ('rate(api_requests_total{code=~"500|503"})', "{job:checkout AND code IN (500, 503)}"),
        ('rate(api_requests_total{code!~"500|503"})', "{job:checkout AND code NOT IN (500, 503)}"),
        ('rate(api_requests_total{code=~"4.*|5.*"})', "{job:checkout AND (code:4* OR code:5*)}"),
        ('rate(api_requests_total{route=~"/a\\\\.b"})', "{job:checkout,route:/a.b}"),
    ],
)
def test_tag_filters(dd, expr, expected):
    text = inline(dd(), expr)
    assert re.search(r"\{[^}]*\}", text).group(0) == expected


def test_datadog_selector_replaces_prometheus_selector(dd):
    text = inline(dd("{selector: {service: checkout, env: prod}}"), "rate(api_requests_total)")
    assert "{env:prod,service:checkout}" in text and "job" not in text


@pytest.mark.parametrize("regex", ["5..", "[45]..", "5\\\\d\\\\d", "(a|b)c"])
def test_regexes_datadog_cannot_say_exactly_are_refused(dd, regex):
    with pytest.raises(CompileError, match=re.escape(f'code=~"{regex.replace(chr(92) * 2, chr(92))}"')):
        inline(dd(), f'rate(api_requests_total{{code=~"{regex}"}})')


def test_widen_regex_is_opt_in_and_noted(dd):
    f = dd("{widen_regex: true}").formula(parse('rate(api_requests_total{code=~"[45].."})'))
    assert "{job:checkout AND (code:4* OR code:5*)}" in f.inline()
    assert any("widened" in n for n in f.notes)


# --- the rolling form -------------------------------------------------------------------------------------------


def test_seed_ratio_keeps_the_guard_as_clamp_min(dd):
    assert inline(dd(), "error_ratio") == (
        "(moving_rollup(sum:api.errors.total{job:checkout}.as_rate(), 300, 'avg') * 300) / "
        "clamp_min(moving_rollup(sum:api.requests.total{job:checkout}.as_rate(), 300, 'avg') * 300, 1)"
    )


def test_rate_gauges_and_grouping(dd):
    c = dd()
    assert (
        inline(c, "rate(api_requests_total[10m])")
        == "moving_rollup(sum:api.requests.total{job:checkout}.as_rate(), 600, 'avg')"
    )
    assert inline(c, "queue_depth") == "max:queue.depth{job:checkout}"
    assert (
        inline(c, "avg_over_time(queue_depth[15m])")
        == "moving_rollup(max:queue.depth{job:checkout}, 900, 'avg')"
    )
    assert (
        inline(c, "sum by (route) (delta(api_requests_total))")
        == "(moving_rollup(sum:api.requests.total{job:checkout} by {route}.as_rate(), 300, 'avg') * 300)"
    )


@pytest.mark.parametrize(
    "expr,construct",
    [
        ("quantile(0.95, latency_seconds)", "quantile() of the histogram 'latency_seconds'"),
        ("topk(3, rate(api_requests_total))", "topk()"),
        ("api_requests_total", "the counter 'api_requests_total' without rate() or delta()"),
        ("sum(error_ratio)", "sum() over the derived metric 'error_ratio'"),
        ("max(sum(rate(api_requests_total)))", "max() over an expression"),
        ("rate(api_requests_total) ^ 2", "the operator '^'"),
    ],
)
def test_constructs_without_a_datadog_form_are_named(dd, expr, construct):
    with pytest.raises(CompileError, match=re.escape(construct)):
        inline(dd(), expr)


def test_volume_guard_folds_into_the_denominator(dd):
    c = dd()
    f = c.formula(parse("error_ratio"), guard=(parse("delta(api_requests_total)"), ">=", 100))
    # cutoff_min(x, 100) >= 100 > 1, so the clamp it replaces is dropped
    assert f.inline() == (
        "(moving_rollup(sum:api.errors.total{job:checkout}.as_rate(), 300, 'avg') * 300) / "
        "cutoff_min(moving_rollup(sum:api.requests.total{job:checkout}.as_rate(), 300, 'avg') * 300, 100)"
    )


def test_volume_guard_that_does_not_occur_is_refused(dd):
    with pytest.raises(CompileError, match="volume guard"):
        dd().formula(parse("error_ratio"), guard=(parse("delta(api_requests_total[1h])"), ">=", 100))
    with pytest.raises(CompileError, match="write >= or <="):
        dd().formula(parse("error_ratio"), guard=(parse("delta(api_requests_total)"), ">", 100))


# --- the count form ---------------------------------------------------------------------------------------------


def test_count_form_for_counter_arithmetic(dd):
    c = dd()
    assert c.count_query(parse("delta(api_errors_total) / delta(api_requests_total)")) == (
        "sum:api.errors.total{job:checkout}.as_count() / sum:api.requests.total{job:checkout}.as_count()",
        300,
    )
    assert c.count_query(parse("rate(api_errors_total[10m])")) == (
        "sum:api.errors.total{job:checkout}.as_count() / 600",
        600,
    )
    # clamps, gauges and mixed windows need the rolling form
    assert c.count_query(parse("error_ratio")) is None
    assert c.count_query(parse("queue_depth")) is None
    assert c.count_query(parse("delta(api_errors_total[5m]) / delta(api_requests_total[1h])")) is None


# --- log searches -----------------------------------------------------------------------------------------------


def _logs_argument(query: str) -> str:
    """The search inside logs("..."), unescaped the way Datadog reads it."""
    m = re.match(r'logs\("((?:[^"\\]|\\.)*)"\)', query)
    assert m, query
    return re.sub(r"\\(.)", r"\1", m.group(1))


def test_exact_message_excludes_longer_event_messages(dd):
    # msg is Datadog's official message (full-text search, where a phrase matches longer messages too)
    c = dd()
    assert (
        c.log_search("done")
        == 'service:worker "refresh cycle completed" -"refresh cycle completed with errors"'
    )
    assert c.log_search("done_errors") == 'service:worker "refresh cycle completed with errors"'
    query = logs_query(c.log_search("done"), "10m")
    assert query == (
        'logs("service:worker \\"refresh cycle completed\\" -\\"refresh cycle completed with errors'
        '\\"").index("*").rollup("count").last("10m")'
    )
    assert _logs_argument(query) == c.log_search("done")


def test_message_in_another_attribute_is_compared_whole(checked):
    c = checked(BASE.replace("message_field: msg", "message_field: event_text"))
    dd = Datadog(c.spec, c.analysis.refs, c.analysis.exprs)
    assert dd.log_search("done") == 'service:worker @event_text:"refresh cycle completed"'


def test_quotes_and_backslashes_in_messages_survive_both_quotings(checked):
    c = checked(BASE.replace("message: refresh cycle completed with errors", "message: 'say \"hi\" \\ bye'"))
    search = Datadog(c.spec, c.analysis.refs, c.analysis.exprs).log_search("done_errors")
    assert search == 'service:worker "say \\"hi\\" \\\\ bye"'
    assert _logs_argument(logs_query(search, "5m")) == search


def test_log_events_datadog_cannot_match(checked):
    c = checked(
        BASE.replace(
            "message: refresh cycle completed with errors", "message: 'completed.*errors', match: regex"
        )
    )
    with pytest.raises(CompileError, match="regex match of event 'done_errors'"):
        Datadog(c.spec, c.analysis.refs, c.analysis.exprs).log_search("done_errors")
    c = checked(
        BASE.replace("message_field: msg", "message_field: event_text").replace(
            "message: refresh cycle completed with errors", "message: with errors, match: contains"
        )
    )
    with pytest.raises(
        CompileError, match="'contains' match of event 'done_errors' on the attribute 'event_text'"
    ):
        Datadog(c.spec, c.analysis.refs, c.analysis.exprs).log_search("done_errors")


def test_numbers_have_no_exponent():
    assert [num(v) for v in (1.0, 0.05, 0.00001, 14.4, 750.0)] == ["1", "0.05", "0.00001", "14.4", "750"]


def test_numbers_are_exact():
    # the query's threshold must equal options.thresholds.critical, which is the float itself
    assert [num(v) for v in (1e-13, 0.1 + 0.2, 1e22, -0.0, -2.5, 10**20 + 1)] == [
        "0.0000000000001",
        "0.30000000000000004",
        "10000000000000000000000",
        "0",
        "-2.5",
        "100000000000000000001",
    ]
    assert all(float(num(v)) == v for v in (1e-13, 123456789012345.6, 5e-324, 1e300))
    assert [num(float(t)) for t in ("inf", "-inf", "nan")] == ["inf", "-inf", "nan"]  # never OverflowError
