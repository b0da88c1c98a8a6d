"""obsctl: monitoring as code. One YAML spec, compiled to Prometheus, Loki, Alertmanager, Grafana and Datadog."""

__version__ = "0.1.0"
