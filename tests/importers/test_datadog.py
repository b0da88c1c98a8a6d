"""`obsctl import datadog`: obsctl's own built monitors import back and build to monitors with the same type, query,
thresholds and options (strict datadog-api-client deserialisation in build's verify, and here again); a monitor
obsctl did not write keeps its query verbatim unless it is one obsctl writes; handles and secrets in messages are
reported, never copied; bad input is one error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.importers import datadog
from obsctl.verify.datadog import validate_monitor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DATA = Path(__file__).resolve().parent / "data"
DIRS = sorted({p.parent for p in EXAMPLES.glob("*/build/**/datadog/monitors/*.json")})


def _spec(tmp_path: Path, paths: list[Path]) -> tuple[Path, object]:
    doc, report = datadog.import_files(paths, None)
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(doc.text(), encoding="utf-8")
    return spec, report


def test_every_example_with_monitors_is_covered() -> None:
    assert len(DIRS) == 6


@pytest.mark.parametrize("folder", DIRS, ids=lambda p: str(p.relative_to(EXAMPLES).parent.parent))
def test_example_monitors_import_back_to_equivalent_monitors(folder: Path, tmp_path: Path, build) -> None:
    paths = sorted(folder.glob("*.json"))
    spec, report = _spec(tmp_path, paths)
    files = build(spec, ["datadog"])  # verify: strict datadog-api-client deserialisation of every payload
    service = yaml.safe_load(spec.read_text())["service"]
    translated = 0
    for p in paths:
        src = json.loads(p.read_text())
        if src["type"] == "slo alert":
            assert any(f.file == str(p) and f.what == "dropped" for f in report.findings)
            continue
        built = json.loads(files[f"datadog/monitors/{p.name}"])
        assert p.name.startswith(f"{service}.")
        assert validate_monitor(built, p.name) == []
        assert datadog.same_monitor(src, built) is None, p.name
        assert built["type"] == src["type"] and built["options"]["thresholds"] == src["options"]["thresholds"]
        assert built.get("priority") == src.get("priority"), p.name
        env_less = [t for t in src["tags"] if not t.startswith("env:")]
        assert built["tags"] == env_less, p.name
        reported = " ".join(f.why for f in report.findings if f.file == str(p))
        for key, value in src["options"].items():
            assert built["options"].get(key) == value or f"option {key}" in reported, (p.name, key)
        translated += "overrides" not in yaml.safe_load(spec.read_text())["alerts"][p.stem.split(".", 1)[1]]
    print(f"{folder.relative_to(EXAMPLES)}: {translated} monitors in obsctl's language")
    assert translated > 0


def test_foreign_monitors_translate_or_stay_verbatim_and_never_copy_handles_or_secrets(
    tmp_path: Path, build
) -> None:
    out = tmp_path / "checkout.yaml"
    result = CliRunner().invoke(
        app,
        [
            "import",
            "datadog",
            str(DATA / "datadog-monitors.json"),
            "--out",
            str(out),
            "--service",
            "checkout",
            "--format",
            "json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    text = out.read_text()
    assert "hunter2" not in text and "hunter2" not in result.output
    assert "@pagerduty-checkout" not in text and "ops@example.org" not in text
    alerts = yaml.safe_load(text)["alerts"]
    # the count form is obsctl's: a condition in its language; the rest stay verbatim
    first = alerts["CheckoutErrorRateHigh"]
    assert first["when"] == 'sum(delta(checkout_errors_count{env="prod", region=~"eu.*"}[10m])) > 50'
    assert first["severity"] == "critical" and first["labels"] == {"tier": "1"}
    assert first["summary"] == "Checkout errors {{ $value }} in {{ $labels.region }}. Page the on-call."
    assert alerts["CheckoutLatencyAvg5m"]["overrides"]["datadog"].startswith("avg(last_5m):")
    assert alerts["CheckoutLatencyAvg5m"]["severity"] == "warning"  # from priority 3, reported
    assert alerts["CheckoutLogErrors"]["overrides"]["datadog"].startswith("logs(")
    assert alerts["CheckoutCPU"]["when"] == 'max by (host)(system_cpu_user{service="checkout"}) > 90'
    whys = [(f["item"], f["why"]) for f in report["findings"]]

    def said(item: str, *words: str) -> bool:
        return any(item in i and all(w in why for w in words) for i, why in whys)

    assert said("Checkout error rate high", "notification handle")
    assert said("Checkout error rate high", "credential")
    assert said("Checkout error rate high", "template blocks")
    assert said("Checkout error rate high", "thresholds warning")
    assert said("Checkout error rate high", "evaluation_delay")
    assert said("Checkout error rate high", "'adhoc'")
    assert said("Checkout latency", "no severity tag", "priority 3")
    assert said("Checkout log errors", "overrides.datadog")
    assert said("Checkout log errors", "option on_missing_data")
    assert said("Composite", "composite")
    files = build(out, ["datadog"])
    built = json.loads(files["datadog/monitors/checkout.CheckoutErrorRateHigh.json"])
    assert built["query"] == "sum(last_10m):sum:checkout.errors.count{env:prod,region:eu*}.as_count() > 50"
    cpu = json.loads(files["datadog/monitors/checkout.CheckoutCPU.json"])
    assert cpu["query"] == "min(last_1m):max:system.cpu.user{service:checkout} by {host} > 90"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"name": "x"}', "OBS827"),
        ('[{"name": "c", "type": "composite", "query": "1 && 2"}]', "OBS828"),
        ('{"monitors": [', "OBS820"),
    ],
)
def test_bad_monitor_json_is_one_error_and_no_spec(tmp_path: Path, text: str, code: str) -> None:
    src = tmp_path / "m.json"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(
        app, ["import", "datadog", str(src), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 1 and code in result.output and str(src) in result.output
    assert "Traceback" not in result.output and not out.exists()
