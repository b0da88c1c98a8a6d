"""Checks that prove every emitted file is accepted by the real tools (promtool, amtool, Grafana's
schemas, Grafana's LogQL parser, datadog-api-client).

Every check returns a list of `Problem`s; an empty list means the artefact passed.
Submodules import their heavy dependencies lazily, so importing this package is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding", "Problem", "Skipped", "parse_back", "read_yaml"]


@dataclass(frozen=True)
class Problem:
    """One thing a verifier found wrong in an emitted file."""

    file: str  # the emitted file (or a label such as "<monitor>" for in-memory payloads)
    message: str
    where: str = ""  # position inside the file: "12:5", a JSON path like "panels[3].gridPos", ...

    def __str__(self) -> str:
        if self.where:
            return f"{self.file}: {self.where}: {self.message}"
        return f"{self.file}: {self.message}"


@dataclass(frozen=True)
class Skipped:
    """A check that could not run because its tool is not installed: `build` reports it as a warning."""

    tool: str
    hint: str = ""

    def __str__(self) -> str:
        return f"not checked with {self.tool}: it is not installed" + (f" ({self.hint})" if self.hint else "")


Finding = Problem | Skipped  # what every backend's verify() returns a list of


def read_yaml(text: str) -> object:
    """YAML read back: the same document as `yaml.load(text, Loader=yaml.CSafeLoader)` (PyYAML's pure-Python
    SafeLoader where libyaml is missing). libyaml parses either way; the document is built from its events
    directly when they are plain (no anchors, aliases, explicit tags or merge keys, one document, scalar keys),
    which is what obsctl writes: PyYAML's composer and constructor took 80% of the read of a 35,000-line tests
    file. Anything else, errors included, is read by yaml.load. Raises yaml.YAMLError."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return _from_events(yaml.parse(text, Loader=loader))
    except (_Unusual, yaml.YAMLError):
        return yaml.load(text, Loader=loader)


class _Unusual(Exception):
    """A YAML feature the event reader leaves to yaml.load."""


_NO_KEY = object()


def _from_events(events: object) -> object:
    import yaml
    from yaml.events import (
        DocumentEndEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
        StreamEndEvent,
        StreamStartEvent,
    )

    resolve = _resolver().resolve
    constructor = yaml.constructor.SafeConstructor()
    str_tag = "tag:yaml.org,2002:str"
    # scalar tags whose SafeConstructor builds a value from the scalar alone (merge keys, `=` and the rest are not)
    plain_tags = {f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "timestamp")}
    stack: list[list] = []  # [container, the key read and waiting for its value (or _NO_KEY)]
    root: object = None
    documents = 0

    def add(value: object, container: bool) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        if type(top[0]) is list:
            top[0].append(value)
        elif top[1] is _NO_KEY:
            if container:  # a collection as a mapping key: PyYAML refuses or flattens it
                raise _Unusual
            top[1] = value
        else:
            top[0][top[1]] = value
            top[1] = _NO_KEY

    for ev in events:
        kind = type(ev)
        if kind is ScalarEvent:
            if ev.anchor is not None or ev.tag not in (None, "!"):
                raise _Unusual
            tag = resolve(yaml.ScalarNode, ev.value, ev.implicit)
            if tag == str_tag:
                add(ev.value, False)
            elif tag in plain_tags:
                add(constructor.construct_object(yaml.ScalarNode(tag, ev.value)), False)
            else:
                raise _Unusual
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if ev.anchor is not None or ev.tag not in (None, "!"):
                raise _Unusual
            value: object = {} if kind is MappingStartEvent else []
            add(value, True)
            stack.append([value, _NO_KEY])
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            stack.pop()
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Unusual
        elif kind not in (DocumentEndEvent, StreamStartEvent, StreamEndEvent):
            raise _Unusual  # an alias
    return root


_RESOLVER: list = []


def _resolver() -> object:
    if not _RESOLVER:
        import yaml

        _RESOLVER.append(yaml.resolver.Resolver())  # the resolver SafeLoader and CSafeLoader use
    return _RESOLVER[0]


def parse_back(path: str, text: str) -> tuple[object, Problem | None]:
    """A rendered YAML file read back: (document, None), or (None, why it is not YAML)."""
    import yaml

    try:
        return read_yaml(text), None
    except yaml.YAMLError as e:
        return None, Problem(path, f"not valid YAML: {e}")
