"""Read YAML keeping the line and column of every node, safely.

PyYAML's composer gives us nodes with marks; we build plain Python values from them ourselves so that:
- every mapping key and value has a Location (the `SourceMap`), for errors that point at the spec;
- YAML 1.1 surprises are read as the user meant: `on`/`yes`/`no` stay strings, `17:00` stays "17:00",
  `0755` stays "0755" (the model then rejects them with a hint where a bool or number is expected);
- duplicate keys are errors (PyYAML silently keeps the last one);
- alias expansion and file size are bounded (no billion-laughs).
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .diagnostics import Diagnostic, Location, SpecError

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64  # nested mappings and lists; real specs use under 10, and building values recurses per level
MAX_NODES = 200_000  # after alias expansion, for a spec and all its includes together

_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_TAG = "obsctl:plain"  # never written by a user: `!` tags start with '!' and global ones with 'tag:'
_CORE = "tag:yaml.org,2002:"
MAX_STRING_CHARS = 65_536  # one value or key; the longest descriptions in real specs are a few hundred
MAX_NUMBER_DIGITS = 100  # Python refuses to read or print integers over 4,300 digits; no spec value needs 100
# Past this many possible levels, libyaml's composer (C, recursive per level) can overflow the C stack before
# any check of ours runs (it crashed at 50,000 here); such text goes to the pure-Python composer, which stops
# at MAX_DEPTH.
_C_COMPOSER_SAFE_DEPTH = 5_000


class _Resolver(yaml.resolver.BaseResolver):
    """Tags of untagged nodes. `_Builder.scalar` reads plain scalars itself (YAML 1.2 core schema), so only `<<`
    (a merge key) and `=` (YAML 1.1's value key, refused) need telling apart: PyYAML's own resolver tries a
    dozen regular expressions on every scalar for tags nothing here reads."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0] and value in ("<<", "="):
                return _MERGE_TAG if value == "<<" else _VALUE_TAG
            # an untagged plain scalar, told apart from an explicit `!!str 123` (text) by its own tag
            return _PLAIN_TAG if implicit[0] else _STR_TAG
        return super().resolve(kind, value, implicit)


class _PythonComposer(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _Resolver
):
    """The pure-Python composer, for a PyYAML built without libyaml. It recurses per level where libyaml does not:
    nesting is refused here, at the node and with the error the builder gives, before Python's stack runs out."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        self.depth += 1
        try:
            # depth 1 is the document (path ()); a mapping key is checked through its children, as the builder
            # reaches it only through its value; an alias is the builder's to count where it expands
            is_key = isinstance(parent, yaml.MappingNode) and index is None
            if self.depth > MAX_DEPTH + 1 and not is_key and not self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise _too_deep(getattr(self, "display", "<spec>"), mark.line + 1, mark.column + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


if getattr(yaml, "__with_libyaml__", False):

    class _CComposer(yaml.cyaml.CParser, _Resolver):
        """libyaml's parser and composer: nodes keep their start marks (line, column), as in pure Python."""

        def __init__(self, stream: str) -> None:
            yaml.cyaml.CParser.__init__(self, stream)
            _Resolver.__init__(self)

    _Composer: type = _CComposer
else:  # pragma: no cover - PyYAML without libyaml; tests run the Python composer on their own
    _Composer = _PythonComposer

# YAML 1.2 core-schema scalars: what users mean when they write them.
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(
    r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9]")  # 0755: octal in YAML 1.1, decimal in 1.2; kept as written
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}

Path_ = tuple  # a path into the document: ("alerts", "HighErrors", "for")


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a document came from."""

    values: dict[Path_, Location] = field(default_factory=dict)
    keys: dict[Path_, Location] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)  # file -> its text lines, for excerpts

    def locate(self, path: Path_, prefer_key: bool = False) -> Location | None:
        """The closest known location for a path, walking up to a parent when needed."""
        path = tuple(path)
        while True:
            if prefer_key and path in self.keys:
                return self.keys[path]
            if path in self.values:
                return self.values[path]
            if path in self.keys:
                return self.keys[path]
            if not path:
                return None
            path = path[:-1]

    def update(self, other: SourceMap, prefix: Path_ = ()) -> None:
        for p, loc in other.values.items():
            self.values[prefix + p] = loc
        for p, loc in other.keys.items():
            self.keys[prefix + p] = loc
        self.lines.update(other.lines)

    def line_text(self, loc: Location) -> str:
        lines = self.lines.get(loc.file, [])
        return lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""


def _err(file: str, line: int, col: int, message: str, hint: str = "", code: str = "OBS001") -> SpecError:
    return SpecError([Diagnostic(code, "error", message, Location(file, line, col), "", hint)])


STDIN = "-"
_COLLECTION_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", "!")


def open_regular(path: Path) -> int | None:
    """A read-only descriptor of `path` when it is a regular file, else None; OSError when it cannot be opened.

    Refused before opening (opening a device can act), opened non-blocking (a FIFO cannot hang us) and checked again
    on the descriptor (a swap after the first look cannot slip a device in)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        return None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def read_text(path: Path, display: str, limit: int = MAX_FILE_BYTES) -> str:
    """The file's text, refusing what is not a regular file, too large or not UTF-8.

    What is read is bounded, not what `stat` says: a device reports size 0 and never ends (/dev/zero). The file is
    opened non-blocking so a FIFO cannot hang us, and checked on the open descriptor, so a swap after the first
    look cannot slip a device in. The path `-` reads standard input, as `<stdin>`."""
    if str(path) == STDIN:
        data = sys.stdin.buffer.read(limit + 1)
        return _decode(data, display, limit)
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        fd = open_regular(path)
    except OSError as e:
        raise SpecError(
            [
                Diagnostic(
                    "OBS002", "error", f"cannot read {display}: {e.strerror or e}", Location(display, 1, 1)
                )
            ]
        ) from None
    if fd is None:
        raise _not_regular(display)
    try:
        with os.fdopen(fd, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise SpecError(
            [
                Diagnostic(
                    "OBS002", "error", f"cannot read {display}: {e.strerror or e}", Location(display, 1, 1)
                )
            ]
        ) from None
    return _decode(data, display, limit)


def _decode(data: bytes, display: str, limit: int) -> str:
    if len(data) > limit:
        raise _err(
            display,
            1,
            1,
            f"file is over the {mib(limit)} limit for a spec file",
            "split the spec and share pieces with `include:`",
            "OBS003",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = e.start - (before.rfind(b"\n") + 1) + 1
        raise _err(
            display,
            line,
            col,
            f"file is not valid UTF-8 (byte 0x{data[e.start]:02x})",
            "save the spec as UTF-8",
            "OBS004",
        ) from None


def mib(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB"


def _not_regular(display: str) -> SpecError:
    return _err(
        display,
        1,
        1,
        "not a regular file (a device, FIFO or socket)",
        "give the path of a YAML spec file",
        "OBS011",
    )


@dataclass
class NodeBudget:
    """Nodes (after alias expansion) a spec and its includes may still build: one budget, not one per file."""

    left: int = MAX_NODES


def load_text(text: str, display: str, nodes: NodeBudget | None = None) -> tuple[object, SourceMap]:
    """Parse one YAML document into plain values and a SourceMap, counting its nodes against `nodes`."""
    smap = SourceMap()
    smap.lines[display] = text.splitlines()
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        node = _compose(text, display)
    except yaml.composer.ComposerError as e:
        mark = e.problem_mark or e.context_mark
        if "expected a single document" in str(e):
            raise _err(
                display,
                mark.line + 1,
                mark.column + 1,
                "a spec file holds a single YAML document",
                "remove the extra '---' separator",
            ) from None
        raise _err(display, mark.line + 1, mark.column + 1, f"YAML error: {e.problem}") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = e.problem or str(e)
        hint = ""
        source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
        if "\\t" in problem or "\t" in source[: max(col, len(source) - len(source.lstrip()))]:
            hint = "YAML indentation uses spaces, not tabs: replace the tab on this line with spaces"
        elif "{" in problem or "mapping values are not allowed" in problem:
            hint = "quote values that contain ': ' or start with '{', e.g. summary: \"{{ $value }} errors\""
        raise _err(display, line, col, f"YAML syntax error: {problem}", hint) from None
    except yaml.YAMLError as e:
        raise _err(display, 1, 1, f"YAML error: {e}") from None
    except RecursionError:  # the pure-Python composer (no libyaml) recurses per level; libyaml stops at 1000
        raise _err(
            display,
            1,
            1,
            f"the document nests deeper than {MAX_DEPTH} levels",
            "a spec needs a few levels of nesting; flatten it",
            "OBS013",
        ) from None
    if node is None:
        raise _err(display, 1, 1, "the spec is empty", "start from `obsctl init`", "OBS005")
    builder = _Builder(display, smap, nodes if nodes is not None else NodeBudget())
    value = builder.build(node, ())
    return value, smap


def _compose(text: str, display: str) -> yaml.Node | None:
    loader = (_PythonComposer if may_nest_deeper(text) else _Composer)(text)
    loader.display = display  # for the pure-Python composer's depth error
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


_FLOW_BRACKETS = re.compile(r"[\[\]{}]")


def may_nest_deeper(text: str, depth: int = _C_COMPOSER_SAFE_DEPTH) -> bool:
    """Whether `text` could nest more than `depth` levels: a cheap upper bound, not a parse. Nesting comes from
    flow brackets (at most their running depth, quotes ignored, so an overestimate) and from block structure: a
    line's level is at most twice its indentation plus the compact indicators (`- `, `? `, `: `) that open it, so
    a line whose run of those (and blanks) is under depth / 4 stays under depth / 2. Lines break at every YAML
    line break, not only at newlines."""
    if _deep_line(depth // 4).search(text):
        return True
    if text.count("[") + text.count("{") <= depth // 2:
        return False
    level = top = 0
    for ch in _FLOW_BRACKETS.findall(text):
        level = level + 1 if ch in "[{" else max(level - 1, 0)
        top = max(top, level)
    return top > depth // 2


@functools.cache
def _deep_line(run: int) -> re.Pattern:
    return re.compile(rf"(?:\A|[\n\r\x85\u2028\u2029])[-?: \t]{{{run}}}")


def _too_deep(file: str, line: int, column: int) -> SpecError:
    return _err(
        file,
        line,
        column,
        f"the document nests deeper than {MAX_DEPTH} levels",
        "a spec needs a few levels of nesting; flatten this value",
        "OBS013",
    )


class _Builder:
    def __init__(self, file: str, smap: SourceMap, nodes: NodeBudget) -> None:
        self.file = file
        self.smap = smap
        self.nodes = nodes
        self.active: set[int] = set()  # node ids on the current path: recursive aliases

    def loc(self, node: yaml.Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: yaml.Node, message: str, hint: str = "", code: str = "OBS001") -> SpecError:
        loc = self.loc(node)
        return _err(self.file, loc.line, loc.column, message, hint, code)

    def build(self, node: yaml.Node, path: Path_) -> object:
        self.nodes.left -= 1
        if self.nodes.left < 0:
            raise self.error(
                node,
                f"the document expands to over {MAX_NODES} nodes (anchors and aliases; with its includes)",
                "a spec this large is likely an alias bomb; write it without nested aliases",
                "OBS006",
            )
        self.smap.values.setdefault(path, self.loc(node))
        if len(path) > MAX_DEPTH:
            loc = self.loc(node)
            raise _too_deep(self.file, loc.line, loc.column)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) in self.active:
            raise self.error(node, "recursive alias", "an alias may not refer to its own anchor", "OBS006")
        if (
            node.tag not in _COLLECTION_TAGS
        ):  # `!!python/object/apply:...` on a mapping must not pass unnoticed
            raise self.error(node, f"unsupported YAML tag {node.tag}", "remove the tag")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: Path_) -> dict:
        out: dict = {}
        explicit: set[str] = set()  # keys written here; keys from a `<<` merge may be overridden
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = self.build(value_node, path)
                sources = merged if isinstance(merged, list) else [merged]
                for src in sources:
                    if not isinstance(src, dict):
                        raise self.error(value_node, "'<<' merges need a mapping or a list of mappings")
                    for k, v in src.items():
                        out.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, "mapping keys must be plain strings")
            # `!foo key:` or `!!int 1:` must not pass unnoticed; `=:` is the key "=" as ever
            if key_node.tag not in (_PLAIN_TAG, _STR_TAG, _VALUE_TAG):
                raise self.error(key_node, f"unsupported YAML tag {key_node.tag}", "remove the tag")
            if len(key_node.value) > MAX_STRING_CHARS:
                raise self.too_long(key_node)
            key = key_node.value  # keys are always strings: `on:` means the key "on"
            if key in explicit:
                first = self.smap.keys[path + (key,)]
                raise self.error(
                    key_node,
                    f"duplicate key '{key}' (first defined at line {first.line})",
                    "each key may appear once in a mapping",
                    "OBS007",
                )
            explicit.add(key)
            self.smap.keys[path + (key,)] = self.loc(key_node)
            out[key] = self.build(value_node, path + (key,))
        return out

    def scalar(self, node: yaml.ScalarNode) -> object:
        """A plain scalar as YAML 1.2's core schema reads it; a quoted one, or one tagged `!!str`, as text; the
        core schema's other tags (`!!int`, `!!float`, `!!bool`, `!!null`) only on values they describe. Any other
        tag is an error wherever it stands (quoted values included)."""
        text, tag = node.value, node.tag
        if len(text) > MAX_STRING_CHARS:
            raise self.too_long(node)
        if tag == _PLAIN_TAG:  # libyaml gives `! "123"` (non-specific tag) as plain: its quotes say text
            return self.plain(node) if node.style in (None, "") else text
        if tag == _STR_TAG:
            return text
        kind = tag.removeprefix(_CORE) if tag.startswith(_CORE) else ""
        if kind in ("int", "float", "bool", "null") and node.style in (None, ""):
            value = self.plain(node)
            if (
                kind == "int"
                and isinstance(value, int)
                and not isinstance(value, bool)
                or kind == "float"
                and isinstance(value, int | float)
                and not isinstance(value, bool)
                or kind == "bool"
                and isinstance(value, bool)
                or kind == "null"
                and value is None
            ):
                return float(value) if kind == "float" else value
            raise self.error(node, f"'{text[:40]}' is not a YAML {kind}", "remove the tag")
        raise self.error(node, f"unsupported YAML tag {tag}", "remove the tag")

    def too_long(self, node: yaml.ScalarNode) -> SpecError:
        return self.error(
            node,
            f"a value of {len(node.value):,} characters (obsctl reads at most {MAX_STRING_CHARS:,})",
            "shorten it; long text belongs behind a link (runbook:, links:)",
        )

    def plain(self, node: yaml.ScalarNode) -> object:
        text = node.value
        if text in _NULL:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if _INT.match(text):
            if len(text) > MAX_NUMBER_DIGITS:
                raise self.error(
                    node,
                    f"a number of {len(text)} digits (obsctl reads at most {MAX_NUMBER_DIGITS})",
                    "quote it if it is text",
                )
            return int(text, 16) if text.startswith("0x") else int(text)
        if _FLOAT.match(text) and not _LEADING_ZERO.match(text):
            if text.lstrip("+-").startswith("."):  # .inf, -.inf, .nan: YAML spellings Python does not read
                special = text.lstrip("+-")[1:].lower()
                if special in ("inf", "nan"):
                    return float(f"{'-' if text.startswith('-') else ''}{special}")
            return float(text)
        return text  # yes/no/on/off, 17:00, 0755, 2024-01-01: strings, as written
