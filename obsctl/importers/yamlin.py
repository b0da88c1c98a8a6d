"""Reading the files an import starts from: YAML (one or more documents) or JSON, with the line of every mapping,
and errors that name the file, line and column instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import yaml

from .report import ImportFailure

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A rule file or dashboard bundle is far smaller (kube-prometheus's 33 dashboards: 1.6 MB); /dev/zero is not read
# to the end. A spec obsctl reads is at most 8 MiB with its includes.
MAX_BYTES = 16 * 1024 * 1024
# Nodes once anchors and aliases expand: the importers walk values as trees, so 8 KB of nested aliases would be
# a million rules. Ten times the nodes of kube-prometheus's whole dashboard bundle.
MAX_NODES = 2_000_000


class LineDict(dict):
    """A mapping that knows the (1-based) line it starts on."""

    line: int = 0


class _Loader(_Base):
    def construct_document(self, node: yaml.Node) -> object:
        _check_expansion(node)
        return super().construct_document(node)


class _PythonLoader(yaml.SafeLoader):
    """For text that could nest deeper than libyaml's recursive composer survives (it crashes in C): this one
    raises RecursionError, which is reported."""

    def construct_document(self, node: yaml.Node) -> object:
        _check_expansion(node)
        return super().construct_document(node)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose nodes, aliases expanded, are over MAX_NODES, or that holds itself: sizes are summed
    once per distinct node, so an alias bomb is measured without being expanded."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            visiting.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            sizes[key] = min(total, MAX_NODES + 1)
            continue
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        if key in visiting:
            raise _Unreadable("an alias refers to its own anchor", node)
        visiting.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    if sizes[id(root)] > MAX_NODES:
        raise _Unreadable(f"anchors and aliases expand to over {MAX_NODES:,} nodes", root)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value)


class _Unreadable(Exception):
    def __init__(
        self, message: str, node: yaml.Node, hint: str = "write the file without nested aliases"
    ) -> None:
        super().__init__(message)
        self.hint = hint
        self.line = node.start_mark.line + 1
        self.column = node.start_mark.column + 1


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = (key_node.tag, key_node.value) if isinstance(key_node, yaml.ScalarNode) else id(key_node)
        if key in seen:  # Prometheus and Alertmanager refuse them; last-wins would import what never ran
            raise _Unreadable(
                f"duplicate key '{str(key_node.value)[:60]}'",
                key_node,
                "each key may appear once in a mapping",
            )
        seen.add(key)
    out = LineDict(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_PythonLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_text(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise ImportFailure("OBS820", f"cannot read the file: {e.strerror or e}", str(path)) from None
    if len(data) > MAX_BYTES:
        raise ImportFailure("OBS820", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB", str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ImportFailure(
            "OBS820", "the file is not UTF-8 text", str(path), hint=f"byte {e.start}"
        ) from None


def load_documents(path: Path, text: str | None = None) -> list[object]:
    """Every YAML document of the file (JSON is YAML), mappings as `LineDict`."""
    text = read_text(path) if text is None else text
    from ..yamlsource import may_nest_deeper

    loader = _PythonLoader if may_nest_deeper(text) else _Loader
    try:
        return [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ImportFailure("OBS820", f"not YAML or JSON: {e.problem or e}", str(path), line, col) from None
    except yaml.YAMLError as e:
        raise ImportFailure("OBS820", f"not YAML or JSON: {e}", str(path)) from None
    except RecursionError:
        raise ImportFailure("OBS820", "the document nests too deeply", str(path)) from None
    except _Unreadable as e:
        raise ImportFailure("OBS820", str(e), str(path), e.line, e.column, hint=e.hint) from None


def line_of(value: object) -> int | None:
    return getattr(value, "line", None) or None
