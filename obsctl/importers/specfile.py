"""Writing the spec an import made: plain YAML in the spec's own key order, multi-line text as block scalars,
and a header comment saying where it came from."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from ..secrets import mask


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Block style only where it reads back the same (no trailing spaces, no tabs: PyYAML would refuse it anyway).
    if "\n" in value and not any(line != line.rstrip() for line in value.split("\n")) and "\t" not in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


@dataclass
class SpecDoc:
    data: dict
    header: str = ""

    def text(self) -> str:
        body = yaml.dump(self.data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120,
                         default_flow_style=False)
        lines = [f"# {line}" for line in _wrap(mask(self.header))] if self.header else []
        return "\n".join(lines + [body]) if lines else body


def _wrap(text: str, width: int = 110) -> list[str]:
    # one comment line per ~110 characters; Unicode line breaks would end the comment early, so they become spaces
    words = "".join(" " if not (c.isprintable() or c == " ") else c for c in text).split(" ")
    out, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    return out + ([cur] if cur else [])
