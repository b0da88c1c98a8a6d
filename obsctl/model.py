"""The spec: pydantic models that reject unknown keys. `obsctl schema` prints their JSON Schema.

Named things (metrics, events, derived metrics, probes, dashboards, alerts, SLOs, receivers) are mappings keyed
by name, so includes and environment overrides merge by name and YAML itself rejects duplicates.
Expressions stay text here; `obsctl.semantics` parses and checks them with positions.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .durations import DurationRangeError, parse_duration

# Checked with fullmatch: `$` in Python's re also matches before a trailing newline ("env\n").
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
SERVICE_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
ALERT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# An environment name becomes part of file and folder names (build/<service>-<env>, .obsctl/<service>-<env>.files)
ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def _duration(v: str) -> str:
    try:
        parse_duration(v)
    except DurationRangeError as e:
        raise PydanticCustomError("OBS109", str(e), {"hint": e.hint}) from None
    return v


def _no_yaml11(v: object) -> object:
    # A YAML 1.1 reader would have turned these into booleans or numbers; we keep them as text and explain.
    if isinstance(v, str) and v.lower() in ("yes", "no", "on", "off", "y", "n"):
        raise ValueError(f"'{v}' is not a boolean here: write true or false")
    return v


def _label_name(v: str) -> str:
    if not LABEL_NAME.fullmatch(v):
        raise ValueError(
            f"'{v}' is not a valid label name: use letters, digits and '_', not starting with a digit"
        )
    if v.startswith("__"):
        raise ValueError(f"label names starting with '__' are reserved by Prometheus: '{v}'")
    return v


def env_name_problem(v: str) -> str:
    """Why `v` cannot name an environment, or ''."""
    if not ENV_NAME.fullmatch(v) or ".." in v:
        return (
            f"'{v}' is not a valid environment name: letters, digits, '_', '.' and '-' (no '..'), "
            "starting with a letter or digit, at most 63 characters"
        )
    return ""


def _env_name(v: str) -> str:
    if problem := env_name_problem(v):
        raise ValueError(problem)
    return v


def _metric_name(v: str) -> str:
    if not METRIC_NAME.fullmatch(v) or ":" in v:
        raise ValueError(
            f"'{v}' is not a valid metric name: letters, digits and '_' only (':' is for recording rules)"
        )
    return v


# Service, alert and dashboard names are parts of output file names (datadog/monitors/<service>.<alert>.json),
# which a file system holds to 255 bytes.
MAX_SERVICE_NAME = 63
MAX_ENTRY_NAME = 100
MAX_TIER_NAME = 60  # <service>.slo-<slo>-<tier>.json: 63 + 100 + 60 and the rest fit 255 bytes
MAX_SLO_NAME = (
    100  # Datadog tags (`slo:<name>` on the SLO and its monitors) hold 200 characters, and the name
)
# is part of Datadog file names (slo-<service>-<name>-<tier>.json) that must fit a file system's 255 bytes


def _slo_name(v: str) -> str:
    if len(v) > MAX_SLO_NAME:
        raise ValueError(
            f"an SLO name is at most {MAX_SLO_NAME} characters (this one has {len(v)}): Datadog "
            f"tags carry it, and so do output file names"
        )
    return v


Duration = Annotated[
    str,
    BeforeValidator(lambda v: str(v) if isinstance(v, int) and v == 0 else v),
    AfterValidator(_duration),
    Field(json_schema_extra={"pattern": r"^([0-9]+(ms|s|m|h|d|w|y))+$|^0$"}),
]


def _above_zero(v: str) -> str:
    if parse_duration(v) == 0:
        raise ValueError("an interval of 0 never advances: give a duration above 0, e.g. 1m")
    return v


# Evaluation, scrape and test steps: a zero step would divide by zero or never move on.
Interval = Annotated[Duration, AfterValidator(_above_zero)]
Bool = Annotated[bool, BeforeValidator(_no_yaml11)]
LabelName = Annotated[str, AfterValidator(_label_name)]
MetricName = Annotated[str, AfterValidator(_metric_name)]
Labels = dict[LabelName, str]
Expr = Annotated[
    str, Field(min_length=1, description="an obsctl expression (PromQL-flavoured, backend-neutral)")
]
Scalar = float | int


class Strict(BaseModel):
    # allow_inf_nan=False: .inf or 1e999 in a threshold has no PromQL, Datadog or JSON form
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True, allow_inf_nan=False)


class Overrides(Strict):
    """Raw per-target queries for what the neutral expression language cannot say."""

    promql: str | None = None
    logql: str | None = None
    datadog: str | None = None


# --- URLs, addresses and secret files ------------------------------------------------------------------------
# Secrets are named by file (`*_file`) or by reference, never written inline: whatever a URL or address holds is
# copied into the output. Messages say what was found, never its value (see obsctl.secrets.mask).


def _refuse_credentials(v: str, creds: list, where: str, hint: str) -> None:
    from .secrets import describe

    if creds:
        raise PydanticCustomError(
            "OBS107",
            f"{where} holds {describe(creds)}: a secret would be written into the output",
            {"hint": hint, "redact": tuple(c.value for c in creds)},
        )


def _url(hint: str) -> AfterValidator:
    """An http(s) URL without inline credentials; `hint` names where the secret goes instead."""

    def check(v: str) -> str:
        from .secrets import find_credentials

        _refuse_credentials(v, find_credentials(v), "the URL", hint)
        if not re.fullmatch(r"https?://[^/@\s?#]+([/?#]\S*)?", v):
            raise PydanticCustomError(
                "OBS105",
                "not an http:// or https:// URL with a host",
                {"hint": "e.g. https://hooks.example.org/alerts; no spaces"},
            )
        return v

    return AfterValidator(check)


def _address(hint: str) -> AfterValidator:
    """host:port (Prometheus targets, the blackbox exporter, an SMTP smarthost) without user:password@."""

    def check(v: str) -> str:
        from .secrets import find_credentials

        _refuse_credentials(v, find_credentials(v), "the address", hint)
        if not v or "/" in v or "?" in v or "#" in v or any(c.isspace() for c in v):
            raise PydanticCustomError(
                "OBS105",
                "the address is not host:port",
                {
                    "hint": "give host:port, e.g. app_blue:8000; a "
                    "scrape job takes its scheme and path as the fields scheme and metrics_path"
                },
            )
        return v

    return AfterValidator(check)


def _links(v: str) -> str:
    # runbooks and annotations reach every notification; a URL in them must work without a secret
    from .secrets import find_in_text

    _refuse_credentials(
        v,
        find_in_text(v),
        "the link",
        "runbook links and annotations reach everyone the alert "
        "notifies: link to a page that needs no credentials in its URL",
    )
    return v


def _secret_file(v: str) -> str:
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", v.strip()):
        raise PydanticCustomError(
            "OBS108",
            "a *_file setting takes the path of the file that holds the secret, "
            "not the secret itself (this is a URL)",
            {
                "hint": "write the URL into a file only Alertmanager reads and give its path, "
                "e.g. /etc/alertmanager/secrets/slack-url",
                "redact": (v,),
            },
        )
    return v


SecretFile = Annotated[str, AfterValidator(_secret_file)]
Link = Annotated[str, AfterValidator(_links)]
_TARGET_HINT = (
    "Prometheus takes scrape credentials from basic_auth (password_file) or authorization "
    "(credentials_file) of the scrape config where it is deployed, never from the address"
)


# --- sources -------------------------------------------------------------------------------------------


ScrapeTarget = Annotated[str, _address(_TARGET_HINT)]


class ScrapeJob(Strict):
    """One Prometheus scrape job of the service's own targets (`prometheus/<service>.scrape.yml`)."""

    job: str = Field(min_length=1, description="job_name: the `job` label of the series")
    targets: list[ScrapeTarget] = Field(min_length=1, description="host:port, e.g. app_blue:8000")
    metrics_path: str = Field("/metrics", pattern=r"^/")
    scheme: Literal["http", "https"] = "http"
    interval: Interval | None = Field(
        None, description="scrape interval (default: sources.metrics.scrape_interval)"
    )
    labels: Labels = Field(default_factory=dict, description="static labels every target's series get")


class MetricSource(Strict):
    type: Literal["prometheus", "datadog"] = "prometheus"
    selector: Labels = Field(default_factory=dict, description="label matchers added to every metric query")
    scrape_interval: Interval = Field("30s", description="default interval of the scrape jobs")
    targets: list[ScrapeTarget] = Field(
        default_factory=list,
        description="shorthand for one scrape job (named after selector.job, else the "
        "service) of these targets, e.g. app_blue:8000",
    )
    scrape: list[ScrapeJob] = Field(
        default_factory=list,
        description="scrape jobs of the service's own targets, emitted as a scrape_configs snippet",
    )

    @model_validator(mode="after")
    def _one_form(self) -> MetricSource:
        if self.targets and self.scrape:
            raise ValueError("give either 'targets' (one scrape job) or 'scrape' (jobs), not both")
        return self

    def jobs(self, service: str) -> list[ScrapeJob]:
        """The scrape jobs, `targets` read as one job named after selector.job (else the service)."""
        if self.scrape or not self.targets:
            return list(self.scrape)
        return [ScrapeJob(job=self.selector.get("job", service), targets=self.targets)]


class LogSource(Strict):
    type: Literal["loki", "datadog"] = "loki"
    format: Literal["json", "logfmt", "text"] = "json"
    message_field: str = Field(
        "msg",
        pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$",
        description="the field that holds the message in json/logfmt logs",
    )


class Probe(Strict):
    url: Annotated[
        str,
        _url(
            "give the credentials to the blackbox exporter module that probes it (basic_auth or "
            "bearer_token_file in blackbox.yml) and name that module in module:"
        ),
    ] = Field(
        description="http(s) URL, no credentials in it",
        json_schema_extra={"pattern": r"^https?://[^/@\s]+(/\S*)?$"},
    )
    interval: Interval = "30s"
    timeout: Duration = "10s"
    module: str = Field("http_2xx", description="blackbox exporter module")
    description: str = ""

    @model_validator(mode="after")
    def _timeout(self) -> Probe:
        if parse_duration(self.timeout) > parse_duration(self.interval):
            raise ValueError(f"timeout {self.timeout} is longer than the interval {self.interval}")
        return self


class Sources(Strict):
    metrics: MetricSource = Field(default_factory=MetricSource)
    logs: LogSource | None = None
    probes: dict[str, Probe] = Field(default_factory=dict)


# --- catalog ---------------------------------------------------------------------------------------------


class Metric(Strict):
    kind: Literal["counter", "gauge", "histogram", "summary"]
    labels: list[LabelName] = Field(default_factory=list)
    unit: str = ""
    help: str = ""
    buckets: list[float] = Field(default_factory=list, description="histogram bucket boundaries (le)")
    aggregate: Literal["sum", "avg", "max", "min"] = Field(
        "sum", description="Datadog's space aggregation when an expression does not aggregate explicitly"
    )
    datadog_name: str | None = Field(
        None, description="the metric's name in Datadog, when not the mapped default"
    )
    selector: Labels | None = Field(
        None,
        description="label matchers for this metric's series instead of sources.metrics.selector ({} for "
        "none), for an exporter whose series lack the source's labels",
    )


class Event(Strict):
    stream: Labels = Field(description="log stream selector, e.g. {service: asset-worker}")
    message: str = Field(min_length=1)
    match: Literal["exact", "contains", "regex"] = "exact"
    field: str | None = Field(
        None,
        pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$",
        description="message field (default: sources.logs.message_field)",
    )
    help: str = ""


class Derived(Strict):
    expr: Expr
    window: Duration | None = None
    unit: str = ""
    help: str = ""
    overrides: Overrides = Field(default_factory=Overrides)


def _derived(v: object) -> object:
    return {"expr": v} if isinstance(v, str) else v


# --- dashboards -------------------------------------------------------------------------------------------


class Threshold(Strict):
    value: float | None
    color: str


class Query(Strict):
    expr: Expr | None = None
    legend: str = ""
    overrides: Overrides = Field(default_factory=Overrides)


PanelType = Literal["timeseries", "stat", "gauge", "bar", "table", "logs", "text"]


class Panel(Strict):
    title: str
    type: PanelType = "timeseries"
    expr: Expr | None = Field(None, description="shorthand for one query")
    legend: str = ""
    queries: list[Query] = Field(default_factory=list)
    overrides: Overrides = Field(default_factory=Overrides)
    unit: str | None = None
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    thresholds: list[Threshold] = Field(default_factory=list)
    description: str = ""
    text: str = Field("", description="markdown for text panels")
    width: int | None = Field(None, ge=1, le=24)
    height: int | None = Field(None, ge=1, le=50)
    legend_mode: Literal["list", "table", "hidden"] = "list"
    stack: Bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Panel:
        if self.expr and self.queries:
            raise ValueError("give either 'expr' or 'queries', not both")
        return self


class Row(Strict):
    row: str = Field(description="row title")
    collapsed: Bool = False
    panels: list[Panel] = Field(default_factory=list)


class Variable(Strict):
    name: LabelName
    label: str = ""
    type: Literal["query", "custom", "interval"] = "query"
    query: str = Field("", description="label_values(...) query for query variables")
    values: list[str] = Field(default_factory=list, description="choices for custom and interval variables")
    multi: Bool = False
    include_all: Bool = False


class TimeRange(Strict):
    from_: str = Field("now-6h", alias="from")
    to: str = "now"


def _panel_or_row(v: object) -> str:
    if isinstance(v, dict):
        return "<row>" if "row" in v else "<panel>"
    return "<row>" if hasattr(v, "row") else "<panel>"


class Dashboard(Strict):
    title: str
    uid: str | None = Field(None, max_length=40, pattern=r"^[a-zA-Z0-9_-]+$")
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    refresh: Duration | None = None
    time: TimeRange = Field(default_factory=TimeRange)
    variables: list[Variable] = Field(default_factory=list)
    panels: list[
        Annotated[
            Annotated[Panel, Tag("<panel>")] | Annotated[Row, Tag("<row>")], Discriminator(_panel_or_row)
        ]
    ] = Field(default_factory=list)


# --- alerts ---------------------------------------------------------------------------------------------


class DatadogAlertOptions(Strict):
    query: str | None = Field(None, description="raw Datadog monitor query (override)")
    priority: int | None = Field(None, ge=1, le=5)
    renotify_interval: int | None = Field(None, ge=0, description="minutes")


class Alert(Strict):
    severity: str
    when: Expr | None = Field(None, description="the condition, e.g. api_error_rate_5m >= 0.05")
    probe: str | None = Field(None, description="fire when this HTTP probe fails (instead of 'when')")
    only_if: Expr | None = Field(None, description="volume guard, e.g. delta(api_requests_total) >= 100")
    for_: Duration = Field("0s", alias="for")
    keep_firing_for: Duration | None = None
    title: str = Field("", description="short human title, e.g. 'API high error rate'")
    summary: str = ""
    description: str = ""
    runbook: Link | None = None
    labels: Labels = Field(default_factory=dict)
    annotations: dict[LabelName, Link] = Field(
        default_factory=dict,
        description="more annotations, e.g. a dashboard link (a line each in Datadog messages)",
    )
    overrides: Overrides = Field(default_factory=Overrides)
    datadog: DatadogAlertOptions = Field(default_factory=DatadogAlertOptions)
    enabled: Bool = True

    @model_validator(mode="after")
    def _condition(self) -> Alert:
        if bool(self.when) == bool(self.probe) and not (self.overrides.promql or self.overrides.logql):
            raise ValueError(
                "an alert needs exactly one of 'when' (a condition) or 'probe' (an HTTP probe name)"
            )
        return self


# --- SLOs -------------------------------------------------------------------------------------------------


class LatencySLI(Strict):
    metric: str = Field(description="a histogram from the metrics catalog")
    threshold: float = Field(
        description="seconds (or the metric's unit); must be one of its bucket boundaries"
    )
    selector: Labels | str = Field(
        default_factory=dict,
        description="label matchers of both series: a mapping (equality) or PromQL matchers, "
        'e.g. \'verb!="WATCH", code=~"2.."\' (braces optional)',
    )


class SLI(Strict):
    good: Expr | None = Field(
        None,
        description='good events, e.g. api_requests_total{code!~"5.."}; or an expression with ${window}, '
        "used as written for each window",
    )
    bad: Expr | None = Field(
        None,
        description='bad events, e.g. api_requests_total{code=~"5.."}; or an expression with ${window}, '
        "used as written for each window",
    )
    total: Expr | None = None
    error_ratio: Expr | None = Field(
        None,
        description="the error ratio as one expression with ${window}, e.g. "
        'sum(rate(x{code=~"5.."}[${window}])) / sum(rate(x[${window}]))',
    )
    latency: LatencySLI | None = None

    @model_validator(mode="after")
    def _shape(self) -> SLI:
        if self.latency:
            if self.good or self.bad or self.total or self.error_ratio:
                raise ValueError("a latency SLI takes no good/bad/total/error_ratio")
        elif self.error_ratio:
            if self.good or self.bad or self.total:
                raise ValueError("an error_ratio SLI takes no good/bad/total")
        elif not self.total or bool(self.good) == bool(self.bad):
            raise ValueError(
                "an SLI is 'latency', 'error_ratio', or 'total' with exactly one of 'good' or 'bad'"
            )
        return self


class BurnRateTier(Strict):
    name: str = Field(
        min_length=1, max_length=MAX_TIER_NAME
    )  # in file names: <service>.slo-<slo>-<tier>.json
    long: Duration
    short: Duration
    factor: float = Field(gt=0)
    action: Literal["page", "ticket"]
    for_: Duration = Field("0s", alias="for")
    enabled: Bool = True


class SLOAlert(Strict):
    """One action's burn-rate alerts (every tier of that action): their name, extra labels and annotations."""

    name: Annotated[str, Field(pattern=rf"^{ALERT_NAME.pattern}$")] | None = Field(
        None, description="alertname (default <Service><Slo>BudgetBurn); page and ticket may share it"
    )
    labels: Labels = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class SLOAlerting(Strict):
    page_severity: str | None = None
    ticket_severity: str | None = None
    page: SLOAlert = Field(default_factory=SLOAlert)
    ticket: SLOAlert = Field(default_factory=SLOAlert)
    tiers: list[BurnRateTier] | None = Field(
        None, description="burn-rate tiers; default: the SRE workbook's four"
    )
    min_events: int = Field(0, ge=0, description="low-traffic guard: total events in the long window")
    enabled: Bool = True


class SLO(Strict):
    objective: float = Field(ge=1, lt=100, description="percent, e.g. 99.9 (not 0.999)")
    period: Duration = "30d"
    description: str = ""
    by: list[LabelName] = Field(
        default_factory=list,
        description="one objective per value of these labels: records, alerts and panels keep them",
    )
    sli: SLI
    alerting: SLOAlerting = Field(default_factory=SLOAlerting)
    labels: Labels = Field(default_factory=dict)
    runbook: Link | None = None


# --- routing ----------------------------------------------------------------------------------------------


class PagerDuty(Strict):
    routing_key_file: SecretFile
    url: (
        Annotated[
            str,
            _url("the routing key goes in routing_key_file; the URL is PagerDuty's events endpoint alone"),
        ]
        | None
    ) = None


class Slack(Strict):
    channel: str | None = None
    api_url_file: SecretFile | None = Field(None, description="a file holding the webhook URL (a secret)")
    send_resolved: Bool = True


class Opsgenie(Strict):
    api_key_file: SecretFile | None = None
    responders: list[dict[str, str]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class Webhook(Strict):
    url: Annotated[
        str,
        _url(
            "put the token in credentials_file (Alertmanager sends it as a Bearer token); "
            "the URL must work without it"
        ),
    ] = Field(
        description="http(s) URL, no credentials in it",
        json_schema_extra={"pattern": r"^https?://[^/@\s]+(/\S*)?$"},
    )
    credentials_file: SecretFile | None = Field(None, description="bearer token file")
    max_alerts: int = Field(0, ge=0)


class Email(Strict):
    to: str
    send_resolved: Bool = False


class Receiver(Strict):
    pagerduty: PagerDuty | None = None
    slack: Slack | None = None
    opsgenie: Opsgenie | None = None
    webhook: Webhook | None = None
    email: Email | None = None
    datadog: str | None = Field(None, description="Datadog notification handle, e.g. @pagerduty-asset-ws")
    description: str = ""


class Severity(Strict):
    receivers: list[str] = Field(default_factory=list)
    pagerduty: Literal["critical", "error", "warning", "info"] | None = None
    opsgenie: Literal["P1", "P2", "P3", "P4", "P5"] | None = None
    datadog: int | None = Field(None, ge=1, le=5, description="Datadog monitor priority")
    group_wait: Duration | None = None
    group_interval: Interval | None = None
    repeat_interval: Interval | None = None
    active_time_intervals: list[str] = Field(default_factory=list)
    mute_time_intervals: list[str] = Field(default_factory=list)
    description: str = ""


def _severity(v: object) -> object:
    return {"receivers": v} if isinstance(v, list) else v


class RegexMatch(Strict):
    regex: str = Field(
        min_length=1,
        description="an RE2 regular expression; Alertmanager anchors it, so it matches "
        "the whole value (HighLatency.* for every HighLatency... alert)",
    )
    example: str | None = Field(None, description="a value the regex matches, for the generated route tests")


def _match_kind(v: object) -> str:
    # One branch per YAML shape, so a typo inside {regex: ...} is one error, not one per branch.
    if isinstance(v, dict | RegexMatch):
        return "<regex>"
    return "<values>" if isinstance(v, list) else "<value>"


MatchValue = Annotated[
    Annotated[str, Tag("<value>")]
    | Annotated[list[str], Tag("<values>")]
    | Annotated[RegexMatch, Tag("<regex>")],
    Discriminator(_match_kind),
]


class Route(Strict):
    match: dict[LabelName, MatchValue] = Field(
        description="label: a value, a list of values, or {regex: ..., example: ...}"
    )
    receivers: list[str]
    continue_: Bool = Field(False, alias="continue")
    group_by: list[LabelName] | None = None
    active_time_intervals: list[str] = Field(default_factory=list)
    mute_time_intervals: list[str] = Field(default_factory=list)


class Inhibit(Strict):
    source: dict[LabelName, MatchValue]
    target: dict[LabelName, MatchValue]
    equal: list[LabelName] = Field(default_factory=list)


class TimeOfDay(Strict):
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


class TimeInterval(Strict):
    weekdays: list[str] = Field(default_factory=list)
    times: list[TimeOfDay] = Field(default_factory=list)
    days_of_month: list[str] = Field(default_factory=list)
    months: list[str] = Field(default_factory=list)
    location: str | None = None


class Smtp(Strict):
    smarthost: Annotated[
        str, _address("give the user as auth_username and the password in auth_password_file")
    ] = Field(description="host:port of the SMTP server")
    from_: str = Field(alias="from")
    auth_username: str | None = None
    auth_password_file: SecretFile | None = None


class Routing(Strict):
    severities: dict[str, Annotated[Severity, BeforeValidator(_severity)]]
    receivers: dict[str, Receiver] = Field(default_factory=dict)
    default_receiver: str | None = Field(
        None, description="where alerts no route matches go (default: a blackhole)"
    )
    group_by: list[LabelName] = Field(default_factory=lambda: ["alertname", "service"])
    group_wait: Duration = "30s"
    group_interval: Interval = "5m"
    repeat_interval: Interval = "4h"
    routes: list[Route] = Field(default_factory=list, description="extra routes, matched before severities")
    inhibit: list[Inhibit] = Field(default_factory=list)
    time_intervals: dict[str, list[TimeInterval]] = Field(default_factory=dict)
    smtp: Smtp | None = None


# --- alert tests ----------------------------------------------------------------------------------------


class Expectation(Strict):
    at: Duration
    firing: list[str] = Field(default_factory=list)
    quiet: list[str] = Field(default_factory=list)


class AlertTest(Strict):
    name: str
    interval: Interval = "1m"
    series: dict[str, str] = Field(description="series -> promtool values notation, e.g. '0+10x30'")
    expect: list[Expectation]


# --- targets ----------------------------------------------------------------------------------------------


class PrometheusTarget(Strict):
    recording_rules: Bool = Field(
        True, description="record derived metrics; alerts and panels query the records"
    )
    evaluation_interval: Interval = "1m"
    rule_labels: Labels = Field(default_factory=dict)
    operator_namespace: str = "monitoring"
    operator_labels: Labels = Field(default_factory=lambda: {"release": "kube-prometheus-stack"})
    blackbox_exporter: Annotated[str, _address(_TARGET_HINT)] = "blackbox-exporter:9115"
    engine: Literal["prometheus", "mimir", "thanos", "victoriametrics"] = Field(
        "prometheus",
        description="the ruler that loads the rules: besides the Prometheus rule files, mimir writes a "
        "mimirtool namespace file (Mimir/Cortex rulers), thanos a Thanos ruler rule file, victoriametrics a vmalert "
        "rule file (docs/targets.md)",
    )
    source_tenants: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="engine mimir: the tenants every rule group queries (a federated rule "
        "group); empty: the tenant mimirtool loads the rules into",
    )
    partial_response_strategy: Literal["abort", "warn"] = Field(
        "abort",
        description="engine thanos: what a rule does when a store answers partially (abort: the "
        "evaluation fails rather than reading part of the data)",
    )
    concurrency: int = Field(
        1,
        ge=1,
        le=64,
        description="engine victoriametrics: rules of one group vmalert evaluates at once (1: in order)",
    )


class GrafanaTarget(Strict):
    folder: str = ""
    use_recording_rules: Bool = Field(True, description="panels on derived metrics query the recording rule")
    prometheus_datasource: str = "prometheus"
    loki_datasource: str = "loki"


class DatadogTarget(Strict):
    namespace: str = Field("", description="prefix for metric names, e.g. 'asset_ws'")
    dots: Bool = Field(
        True, description="map '_' to '.' in metric names (api_requests_total -> api.requests.total)"
    )
    counter_suffix: str = Field(
        "", description="suffix Datadog gives counters, e.g. '.count' for OpenMetrics"
    )
    metric_names: dict[str, str] = Field(default_factory=dict, description="explicit name per metric")
    tags: list[str] = Field(default_factory=list)
    notify_no_data: Bool = False
    selector: Labels | None = Field(
        None,
        description="tags scoping every Datadog metric query, instead of sources.metrics.selector "
        "(Prometheus' job label, say, does not exist in Datadog)",
    )
    logs_index: str = Field("*", description="log index that log monitors and widgets search")
    widen_regex: Bool = Field(
        False,
        description="map regex matchers Datadog cannot say exactly to wider * wildcards: trailing '.', "
        "classes and repeats become '*', a leading class [45] becomes alternatives (5.. -> 5*, [45].. -> 4* or 5*)",
    )
    slo_queries: dict[str, DatadogSLOQuery] = Field(
        default_factory=dict,
        description="raw Datadog numerator/denominator per SLO, for SLIs obsctl cannot map",
    )


class DatadogSLOQuery(Strict):
    numerator: str = Field(
        min_length=1, description="good events, e.g. sum:api.requests{!code:5*}.as_count()"
    )
    denominator: str = Field(min_length=1, description="total events, e.g. sum:api.requests{*}.as_count()")


class AlertmanagerTarget(Strict):
    resolve_timeout: Duration = "5m"
    templates: list[str] = Field(default_factory=list)


TargetName = Literal["prometheus", "loki", "alertmanager", "grafana", "datadog"]  # obsctl.targets.TARGETS


class Targets(Strict):
    for_: list[TargetName] | None = Field(
        None,
        alias="for",
        min_length=1,
        description="the targets this spec is built for, e.g. [prometheus, alertmanager, grafana]: "
        "`build --target all` builds these, validate checks these (a Datadog mapping only when datadog is "
        "listed); default: every target (one the spec gives nothing to writes nothing)",
    )
    prometheus: PrometheusTarget = Field(default_factory=PrometheusTarget)
    grafana: GrafanaTarget = Field(default_factory=GrafanaTarget)
    datadog: DatadogTarget = Field(default_factory=DatadogTarget)
    alertmanager: AlertmanagerTarget = Field(default_factory=AlertmanagerTarget)


class Defaults(Strict):
    window: Duration = Field("5m", description="window of rate/delta/count when an expression gives none")
    by: list[LabelName] = Field(default_factory=list, description="labels kept when series are combined")


# --- the spec -----------------------------------------------------------------------------------------------


class Lint(Strict):
    accept: dict[Annotated[str, Field(pattern=r"^OBS[0-9]{3}$")], Annotated[str, Field(min_length=1)]] = (
        Field(
            default_factory=dict,
            description='warnings this spec accepts, each with the reason: {OBS311: "staging has no '
            'pager"}; validate --strict then passes, and an accepted code that no longer fires is a warning (OBS016)',
        )
    )


class Spec(Strict):
    version: Literal[1] = 1
    service: str = Field(
        pattern=rf"^{SERVICE_NAME.pattern}$",
        max_length=MAX_SERVICE_NAME,
        description="lowercase, digits and '-', e.g. asset-ws",
    )
    team: str | None = None
    description: str = ""
    runbook: Link | None = Field(None, description="default runbook link for alerts")
    include: list[str] = Field(default_factory=list, description="specs whose sections this one extends")
    labels: Labels = Field(default_factory=dict, description="labels added to every alert")
    vars: dict[Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")], Scalar] = Field(
        default_factory=dict, description="numbers expressions use as $name (thresholds per environment)"
    )
    defaults: Defaults = Field(default_factory=Defaults)
    sources: Sources = Field(default_factory=Sources)
    metrics: dict[MetricName, Metric] = Field(default_factory=dict)
    events: dict[str, Event] = Field(default_factory=dict)
    derived: dict[MetricName, Annotated[Derived, BeforeValidator(_derived)]] = Field(default_factory=dict)
    dashboards: dict[Annotated[str, Field(max_length=MAX_ENTRY_NAME)], Dashboard] = Field(
        default_factory=dict
    )
    alerts: dict[
        Annotated[str, Field(pattern=rf"^{ALERT_NAME.pattern}$", max_length=MAX_ENTRY_NAME)], Alert
    ] = Field(default_factory=dict)
    slos: dict[Annotated[str, AfterValidator(_slo_name)], SLO] = Field(default_factory=dict)
    routing: Routing | None = None
    tests: list[AlertTest] = Field(default_factory=list)
    targets: Targets = Field(default_factory=Targets)
    lint: Lint = Field(default_factory=Lint)
    environments: dict[
        Annotated[
            str,
            AfterValidator(_env_name),
            Field(json_schema_extra={"pattern": r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"}),
        ],
        dict,
    ] = Field(
        default_factory=dict, description="per-environment overrides, merged over the spec by `--env NAME`"
    )

    def selector_of(self, metric: str) -> dict[str, str]:
        """The label matchers a catalog metric's own series are selected by: its selector, else the source's."""
        m = self.metrics.get(metric)
        return m.selector if m is not None and m.selector is not None else self.sources.metrics.selector
