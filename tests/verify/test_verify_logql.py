import pytest

from obsctl.verify.logql import check_logql, is_metric_query, logql_errors

VALID = [
    'absent_over_time({service="asset-worker"} |= "refresh cycle completed" [10m])',
    '(sum(count_over_time({service="asset-worker"} |= "x" [10m])) or vector(0)) < 1',
    'sum by (service) (rate({service="asset-worker"} |= "level=error" [5m]))\n  /\nsum by (service) (rate({service="asset-worker"} [5m]))\n  > 0.05',
    'sum by (level) (rate({app="x"} | json [5m]))',
    'quantile_over_time(0.99, {app="x"} | unwrap duration [5m]) by (host)',
    'count_over_time({job="x"}[5m] offset 5m)',
    '{app="x"} |= "msg" != "debug" | logfmt | level="error"',
]


@pytest.fixture
def logql(require_tool):
    require_tool("logql-check")


def test_valid_expressions_parse_in_one_batch(logql):
    assert logql_errors(VALID) == [None] * len(VALID)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('count_over_time({service="asset-worker"} |= "x")', "LogQL syntax error at 1:48"),  # missing [range]
        ("count_over_time({app=x} [5m])", "LogQL syntax error at 1:22 near 'x} [5m])'"),  # unquoted value
        ('rate({a="b"}[5m]) offset 5m', "LogQL syntax error at 1:19"),  # offset belongs inside
        ("", "unexpected end of query"),
        ('sum(\n  count_over_time({a="b"} |= "x")\n)', "LogQL syntax error at 2:"),  # line:col in multi-line
    ],
)
def test_syntax_errors_are_located(logql, expr, message):
    [err] = logql_errors([expr])
    assert err is not None and message in err, err


def test_batch_keeps_order(logql):
    errs = logql_errors([VALID[0], "count_over_time({app=x} [5m])", VALID[1]])
    assert errs[0] is None and errs[2] is None
    assert errs[1] is not None


def test_positions_are_python_offsets_past_astral_characters(logql):
    expr = '{app="\U0001f600"} |= "x" [5m] x'
    [result] = check_logql([expr])
    assert not result.ok
    assert expr[result.error_positions[0] :].startswith("[5m]")


def test_metric_vs_log_query(logql):
    assert is_metric_query(VALID[0])
    assert is_metric_query("vector(1)")
    assert not is_metric_query('{service="asset-worker"} |= "error"')  # parses, but not an alert expr
    assert not is_metric_query("")


def test_empty_batch_needs_no_node():
    assert logql_errors([]) == []
