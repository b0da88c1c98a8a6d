"""The names of obsctl's targets, in build order: the registry the command line, the spec (`targets.for`) and
`obsctl.backends` share. A module of its own so that `obsctl --help` needs no backend machinery."""

TARGETS = ("prometheus", "loki", "alertmanager", "grafana", "datadog")
