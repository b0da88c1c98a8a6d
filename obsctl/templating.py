"""The template environment: sandboxed, strict, values entering only through escaping filters.

Spec strings are data, never templates: Prometheus and Alertmanager use `{{ }}` too, so a summary like
"{{ $value }}" must reach the output verbatim. Templates emit values with `yaml` (a YAML scalar, quoted as
needed) or `tojson`, never by pasting strings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml


def templates_root() -> Path:
    """The templates shipped with obsctl (inside the package when installed, else beside it)."""
    from .resources import resource_dir

    root = resource_dir("templates")
    if not root.is_dir():
        raise FileNotFoundError("obsctl's templates directory is missing from this installation")
    return root


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def to_yaml_scalar(value: object) -> str:
    """One YAML scalar (or flow collection), quoted when needed: safe to paste after `key: `."""
    if isinstance(value, str) and "\n" in value:
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid double-quoted YAML scalar
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, allow_unicode=True, width=float("inf"),
                     sort_keys=False)
    return text.removesuffix("\n...\n").rstrip("\n")


def to_yaml_block(value: object, indent: int = 0) -> str:
    """A YAML block (mapping or list), indented by `indent` spaces after its first line."""
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=False, allow_unicode=True, width=float("inf"),
                     sort_keys=False).rstrip("\n")
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
        return BackendError([Diagnostic("OBS014", "error", message, None, "",
                                        "copy the template into the folder instead of linking to it")])

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
    env = SandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
                               keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["yaml"] = to_yaml_scalar
    env.filters["yaml_block"] = to_yaml_block
    env.filters["tojson"] = lambda v, indent=None: json.dumps(v, ensure_ascii=False, indent=indent)
    return env
