from obsctl.verify import Problem
from obsctl.verify.tools import INSTALL_HINTS, ToolMissing, find_tool, have_tool


def test_problem_str_with_and_without_position():
    assert str(Problem("rules.yml", "bad expr", "5:15")) == "rules.yml: 5:15: bad expr"
    assert str(Problem("am.yml", "no route")) == "am.yml: no route"


def test_problem_is_hashable_and_frozen():
    p = Problem("f", "m")
    assert {p, Problem("f", "m")} == {p}


def test_missing_tool_carries_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        find_tool("promtool")
    except ToolMissing as exc:
        assert exc.tool == "promtool"
        assert exc.hint == "apt-get install prometheus"
        assert str(exc) == "promtool not installed: apt-get install prometheus"
    else:
        raise AssertionError("ToolMissing not raised")
    assert not have_tool("amtool")
    assert "prometheus-alertmanager" in INSTALL_HINTS["amtool"]
    assert "npm ci --prefix tools/logql-check" in INSTALL_HINTS["node"]
