"""Writing the spec an import made: plain YAML in the spec's own key order, multi-line text as block scalars,
and a header comment saying where it came from. A spec over the 2 MiB obsctl reads in one file is split into the
main spec and `include:` files (`split_files`), so a large rule set imports whole."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from ..secrets import mask
from .report import ImportFailure


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """libyaml's emitter where PyYAML has it: the pure-Python one took most of a 5,000-rule import."""


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
    source: str = ""  # the first source file, where a size error points
    items: int = 0  # how many rules, dashboards or monitors it holds (for that error)

    def text(self) -> str:
        body = _dump(self.data)
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


# Sections whose entries may move into include files when the spec is over obsctl's per-file read limit.
SPLIT_SECTIONS = ("metrics", "derived", "alerts", "dashboards", "slos", "events")
PART_BYTES = 1024 * 1024  # well under the 2 MiB per file, so a part that grows a little on edit still reads


def part_dir(name: str) -> str:
    """`payments.yaml` -> `payments.d`: where the parts of a split spec go, beside it."""
    return f"{name.rsplit('.', 1)[0] if name.endswith(('.yaml', '.yml')) else name}.d"


def _check_files(files: dict[str, str], first: str, items: int) -> None:
    from ..loader import MAX_TOTAL_BYTES
    from ..yamlsource import MAX_FILE_BYTES

    total = sum(len(t.encode("utf-8")) for t in files.values())
    if total > MAX_TOTAL_BYTES:
        raise ImportFailure(
            "OBS825",
            f"the spec for these {items} items would be {total:,} bytes, over the "
            f"{MAX_TOTAL_BYTES:,} bytes obsctl reads in a spec and its includes",
            first,
            hint="import the files in parts, one spec per service or team",
        )
    for rel, text in files.items():
        size = len(text.encode("utf-8"))
        if size > MAX_FILE_BYTES:
            raise ImportFailure(
                "OBS825",
                f"{rel} would be {size:,} bytes, over the {MAX_FILE_BYTES:,} bytes obsctl "
                "reads in one file (one item alone is that large)",
                first,
                hint="import the files in parts, one spec per service or team",
            )


def split_files(doc: SpecDoc, name: str = "obsctl.yaml") -> dict[str, str]:
    """The files of the spec, main first: `{name: text}` when it is under the per-file read limit, else the main
    spec plus `<stem>.d/part-N.yaml` include files holding the entries of its large sections, each well under
    the limit. OBS825 when even that cannot be read (over 8 MiB in all, or one entry over 2 MiB)."""
    from ..yamlsource import MAX_FILE_BYTES

    text = doc.text()
    if len(text.encode("utf-8")) <= MAX_FILE_BYTES:
        return {name: text}
    main = {k: v for k, v in doc.data.items() if k not in SPLIT_SECTIONS or not isinstance(v, dict)}
    parts: list[dict] = []
    current: dict = {}
    size = 0
    for section in SPLIT_SECTIONS:
        entries = doc.data.get(section)
        if not isinstance(entries, dict):
            continue
        for key, value in entries.items():
            n = len(_dump({section: {key: value}}).encode("utf-8"))
            if current and size + n > PART_BYTES:
                parts.append(current)
                current, size = {}, 0
            current.setdefault(section, {})[key] = value
            size += n
    if current:
        parts.append(current)
    folder = part_dir(name)
    rels = [f"{folder}/part-{i + 1}.yaml" for i in range(len(parts))]
    main = {
        **{k: v for k, v in main.items() if k in ("version", "service")},
        "include": rels,
        **{k: v for k, v in main.items() if k not in ("version", "service")},
    }
    files = {
        name: SpecDoc(
            main,
            header=f"{doc.header} Over the {MAX_FILE_BYTES // (1024 * 1024)} MiB obsctl reads "
            f"in one file, so its entries are in {len(parts)} include files under {folder}/.",
        ).text()
    }
    for i, (rel, part) in enumerate(zip(rels, parts, strict=True)):
        files[rel] = SpecDoc(
            part, header=f"Part {i + 1} of {len(parts)} of {name}, which includes it."
        ).text()
    _check_files(files, doc.source, doc.items)
    return files


def _dump(data: dict) -> str:
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False
    )
