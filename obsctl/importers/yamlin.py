"""Reading the files an import starts from: YAML (one or more documents) or JSON, with the line of every mapping,
and errors that name the file, line and column instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import yaml

from .report import ImportFailure

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = (
    64 * 1024 * 1024
)  # a rule file or dashboard bundle is far smaller; /dev/zero is not read to the end


class LineDict(dict):
    """A mapping that knows the (1-based) line it starts on."""

    line: int = 0


class _Loader(_Base):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    out = LineDict(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


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
    try:
        return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ImportFailure("OBS820", f"not YAML or JSON: {e.problem or e}", str(path), line, col) from None
    except yaml.YAMLError as e:
        raise ImportFailure("OBS820", f"not YAML or JSON: {e}", str(path)) from None
    except RecursionError:
        raise ImportFailure("OBS820", "the document nests too deeply", str(path)) from None


def line_of(value: object) -> int | None:
    return getattr(value, "line", None) or None
