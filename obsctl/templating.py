"""The template environment: sandboxed, strict, values entering only through escaping filters.

Spec strings are data, never templates: Prometheus and Alertmanager use `{{ }}` too, so a summary like
"{{ $value }}" must reach the output verbatim. Templates emit values with `yaml` (a YAML scalar, quoted as
needed), `yaml_block` or `tojson`, and text inside a `#` comment with `comment`, never by pasting strings. What
they write reads back as exactly the value, in PyYAML and in Go's yaml.v2/v3 (Prometheus, Alertmanager, Loki).
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import yaml


def templates_root() -> Path:
    """The templates shipped with obsctl (inside the package when installed, else beside it)."""
    from .resources import resource_dir

    root = resource_dir("templates")
    if not root.is_dir():
        raise FileNotFoundError("obsctl's templates directory is missing from this installation")
    return root


# What a YAML reader may not keep as written outside double quotes: C0/C1 controls (tab and line feed
# included), DEL, surrogates, U+FFFE/U+FFFF, the BOM, and U+0085/U+2028/U+2029, which YAML 1.1 readers (PyYAML,
# Go's yaml.v2 and yaml.v3) take as line breaks: they end a comment and are folded inside a quoted scalar.
_UNSAFE = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match) -> str:
    # \uXXXX reads the same in JSON, YAML's double quotes and Python: a JSON-quoted name in a comment reads back
    ch = match.group()
    return _NAMED_ESCAPES.get(ch) or f"\\u{ord(ch):04x}"  # only BMP characters are unsafe


def to_comment(value: object) -> str:
    """Text that stays inside one `#` comment line: control characters and Unicode line breaks become escapes
    (`\\n`, `\\u2028`), so no value (a spec's file name, a label value in a note) can end the comment and add YAML."""
    return _UNSAFE.sub(_escape_char, str(value))


def _block_ok(value: str) -> bool:
    """Whether a literal block (`|-`) reads back as exactly `value` in every YAML reader: line feeds are its only
    special characters, and nothing depends on indentation indicators or chomping."""
    return (
        "\n" in value
        and not _UNSAFE.search(value.replace("\n", ""))
        and value == value.strip()
        and not re.search(r"\s\n", value)
    )


class _FlowDumper(yaml.SafeDumper):
    """Scalars for pasting after `key: ` (or in a flow collection): never a block scalar."""

    block_strings = False


class _Dumper(_FlowDumper):
    block_strings = True


def _str_presenter(dumper: _FlowDumper, value: str) -> yaml.Node:
    # Double quotes are YAML's only style that escapes (\N, \L, \P, \x.., \t): forced for anything a reader
    # could fold, drop or misread, and for leading or trailing whitespace of any kind (a template's `trim`
    # would take a trailing no-break space off a plain scalar).
    if dumper.block_strings and _block_ok(value):
        style = "|"
    elif _UNSAFE.search(value) or value != value.strip():
        style = '"'
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FlowDumper.add_representer(str, _str_presenter)


def to_yaml_scalar(value: object) -> str:
    """One YAML scalar (or flow collection), quoted when needed: safe to paste after `key: `, and read back
    (by PyYAML and Go's yaml.v2/v3) as exactly `value`."""
    if type(value) is str:  # most of what templates write: names, label values, durations, series
        return _str_scalar(value)
    return _dump_scalar(value)


# A one-line printable ASCII string without leading or trailing space is written by PyYAML's emitter either as
# it is (plain) or in single quotes: plain unless it holds a block indicator (analyze_scalar: `---`/`...` or an
# indicator character first, `-`, `?` or `:` then a space, `: `, ` #`, a final `:`) or the resolver would read
# it back as something other than a string (`yes`, `1e3`, `~`). Anything else takes the yaml.dump path.
_ASCII_LINE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
_BLOCK_INDICATOR_START = re.compile(r"---|\.\.\.|[#,\[\]{}&*!|>'\"%@`]|[-?:](?: |$)")
_BLOCK_INDICATOR = re.compile(r": | #|:$")
_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()  # the resolver SafeDumper (and so _FlowDumper) uses


@functools.lru_cache(maxsize=65536)
def _str_scalar(value: str) -> str:
    """to_yaml_scalar of a string, without an emitter run for one-line ASCII (a build of 1,000 alerts writes
    40,000 scalars); tests/core/test_output_escaping.py checks it against the yaml.dump path."""
    if not _ASCII_LINE.fullmatch(value):
        return _dump_scalar(value)
    if (
        not _BLOCK_INDICATOR_START.match(value)
        and not _BLOCK_INDICATOR.search(value)
        and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG
    ):
        return value
    return "'" + value.replace("'", "''") + "'"


def _dump_scalar(value: object) -> str:
    text = yaml.dump(
        value,
        Dumper=_FlowDumper,
        default_flow_style=True,
        allow_unicode=True,
        width=float("inf"),
        sort_keys=False,
    )
    return text.removesuffix("\n...\n").rstrip("\n")


def to_yaml_block(value: object, indent: int = 0) -> str:
    """A YAML block (mapping or list), indented by `indent` spaces after its first line."""
    text = yaml.dump(
        value,
        Dumper=_Dumper,
        default_flow_style=False,
        allow_unicode=True,
        width=float("inf"),
        sort_keys=False,
    ).rstrip("\n")
    pad = " " * indent
    return text.replace("\n", "\n" + pad)


def _folder_loader(user_dir: Path) -> object:
    """A loader for a `--templates` folder that serves only files inside it.

    Jinja's FileSystemLoader refuses `..` in names but follows symlinks anywhere, so `{% include %}` of a link
    (or a link in place of an override) would read any file the user can. Names are resolved first, and a name
    with `..`, or one whose real path is outside the real folder, fails the build with OBS014."""
    from jinja2 import BaseLoader, TemplateNotFound

    from .diagnostics import BackendError, Diagnostic

    root = user_dir.resolve()

    def refuse(message: str) -> BackendError:
        return BackendError(
            [
                Diagnostic(
                    "OBS014",
                    "error",
                    message,
                    None,
                    "",
                    "copy the template into the folder instead of linking to it",
                )
            ]
        )

    class FolderLoader(BaseLoader):
        def get_source(self, environment: object, template: str) -> tuple:
            parts = [p for p in template.replace("\\", "/").split("/") if p not in ("", ".")]
            if ".." in parts or template.startswith(("/", "\\")):
                raise refuse(f"template '{template}' names a path outside --templates {user_dir}")
            path = root.joinpath(*parts)
            if not os.path.lexists(path):
                raise TemplateNotFound(template)  # not overridden: the shipped template is used
            real = path.resolve()
            if not real.is_relative_to(root):
                raise refuse(f"template '{template}' is a link to a file outside --templates {user_dir}")
            if not real.is_file():
                raise refuse(f"template '{template}' in --templates {user_dir} is not a regular file")
            mtime = real.stat().st_mtime
            return real.read_text(encoding="utf-8"), str(real), lambda: real.stat().st_mtime == mtime

    return FolderLoader()


def environment(user_dir: Path | None = None) -> object:
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    loaders = [_folder_loader(user_dir)] if user_dir else []
    loaders.append(FileSystemLoader(str(templates_root())))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yaml"] = to_yaml_scalar
    env.filters["yaml_block"] = to_yaml_block
    env.filters["comment"] = to_comment
    env.filters["tojson"] = lambda v, indent=None: json.dumps(v, ensure_ascii=False, indent=indent)
    return env
