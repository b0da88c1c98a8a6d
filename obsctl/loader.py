"""From spec files to a validated `Spec`: includes, environment overrides, and pydantic errors with positions."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .diagnostics import Diagnostic, Location, SpecError, did_you_mean
from .yamlsource import STDIN, NodeBudget, SourceMap, load_text, mib, read_text

if TYPE_CHECKING:
    from .model import Spec

MAX_INCLUDE_DEPTH = 8
MAX_FILES = 64  # a spec and all its includes, counted once per include entry
MAX_TOTAL_BYTES = 8 * 1024 * 1024  # a spec and all its includes; each file is also held to MAX_FILE_BYTES


@dataclass
class Loaded:
    spec: Spec  # obsctl.model.Spec (imported lazily: pydantic is the heaviest import we have)
    smap: SourceMap
    path: Path
    env: str | None
    raw: dict


def _merge(base: object, over: object, base_map: SourceMap, over_map: SourceMap, path: tuple) -> object:
    """Deep-merge `over` onto `base`: mappings merge by key, everything else is replaced.

    Positions of what `over` brings move from `over_map` into `base_map`, in one pass at the end."""
    taken: set[tuple] = set()
    out = _merge_values(base, over, base_map, over_map, path, taken)
    _copy_locations(over_map, base_map, taken)
    return out


def _merge_values(
    base: object, over: object, base_map: SourceMap, over_map: SourceMap, path: tuple, taken: set[tuple]
) -> object:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if k in base:
                out[k] = _merge_values(base[k], v, base_map, over_map, path + (k,), taken)
            else:
                out[k] = v
                taken.add(path + (k,))
        if path in over_map.values:
            base_map.values.setdefault(path, over_map.values[path])
        return out
    taken.add(path)
    return over


def _copy_locations(src: SourceMap, dst: SourceMap, prefixes: set[tuple]) -> None:
    """Positions under any of `prefixes` now come from `src`: drop dst's, copy src's."""
    if prefixes:
        lengths = sorted({len(p) for p in prefixes})

        def under(p: tuple) -> bool:
            for n in lengths:
                if n > len(p):
                    return False
                if p[:n] in prefixes:
                    return True
            return False

        for table_src, table_dst in ((src.values, dst.values), (src.keys, dst.keys)):
            for p in [p for p in table_dst if under(p)]:
                del table_dst[p]
            table_dst.update((p, loc) for p, loc in table_src.items() if under(p))
    dst.lines.update(src.lines)


def _remap(smap: SourceMap, old: tuple, new: tuple) -> SourceMap:
    out = SourceMap(lines=dict(smap.lines))
    n = len(old)
    for p, loc in smap.values.items():
        if p[:n] == old:
            out.values[new + p[n:]] = loc
    for p, loc in smap.keys.items():
        if p[:n] == old:
            out.keys[new + p[n:]] = loc
    return out


@dataclass
class _Budget:
    """What a spec and all its includes may still read together: bytes, files and YAML nodes."""

    left: int = MAX_TOTAL_BYTES
    files: int = MAX_FILES
    nodes: NodeBudget = field(default_factory=NodeBudget)


def read_raw(
    path: Path, seen: tuple[Path, ...] = (), budget: _Budget | None = None, via: Location | None = None
) -> tuple[dict, SourceMap]:
    """One spec file with its includes merged beneath it (the including file wins).

    `via` is the include entry that named this file (where an over-budget error points)."""
    budget = budget if budget is not None else _Budget()
    display = _display(path)
    text = read_text(path, display)
    size = len(text.encode("utf-8"))
    if size > budget.left:
        raise SpecError(
            [
                Diagnostic(
                    "OBS012",
                    "error",
                    f"the spec and its includes are over the {mib(MAX_TOTAL_BYTES)} limit with {display}",
                    via or Location(display, 1, 1),
                    "",
                    "share smaller pieces, or split the service into several specs",
                )
            ]
        )
    budget.left -= size
    data, smap = load_text(text, display, budget.nodes)
    if not isinstance(data, dict):
        loc = smap.locate(())
        raise SpecError(
            [
                Diagnostic(
                    "OBS008",
                    "error",
                    "a spec is a YAML mapping (service:, metrics:, alerts: ...)",
                    loc,
                    "",
                    "start from `obsctl init`",
                )
            ]
        )
    if "include" not in data:
        return data, smap  # what merging it beneath nothing would give, without copying every position
    includes = data.get("include") or []
    if not isinstance(includes, list):
        includes = [includes]
    merged: dict = {}
    mmap = SourceMap()
    for i, inc in enumerate(includes):
        loc = smap.locate(("include", i))
        target = _include_target(path, inc, i, loc, seen)
        budget.files -= 1
        if budget.files <= 0:
            raise SpecError(
                [
                    Diagnostic(
                        "OBS009",
                        "error",
                        f"the spec and its includes are more than {MAX_FILES} files",
                        loc,
                        f"include[{i}]",
                        "include fewer, larger files, or split the service into several specs",
                    )
                ]
            )
        inc_data, inc_map = read_raw(target, seen + (path.resolve(),), budget, loc)
        inc_data.pop("include", None)
        merged = _merge(merged, inc_data, mmap, inc_map, ())
    data.pop("include", None)
    merged = _merge(merged, data, mmap, smap, ())
    if includes:
        merged["include"] = includes
        _copy_locations(smap, mmap, {("include",)})
    mmap.lines.update(smap.lines)
    return merged, mmap


def _include_target(path: Path, inc: object, i: int, loc: Location | None, seen: tuple[Path, ...]) -> Path:
    """The real file an include entry names, once it is known to be a spec: never read (and echo in errors) a
    file that is not one, whatever a symlink's own name says."""

    def fail(message: str, hint: str = "", code: str = "OBS009") -> SpecError:
        return SpecError([Diagnostic(code, "error", message, loc, f"include[{i}]", hint)])

    if not isinstance(inc, str):
        raise fail("include entries are file paths")
    if "\0" in inc:
        raise fail("include paths cannot hold a NUL character")
    if not inc.endswith((".yaml", ".yml")):
        raise fail(f"include '{inc}' is not a YAML spec (.yaml or .yml)", "include other obsctl specs")
    target = (path.parent / inc).resolve()
    if target in seen or target == path.resolve():
        raise fail(
            f"include cycle through {inc}", "a spec may not include itself, directly or through other specs"
        )
    if len(seen) >= MAX_INCLUDE_DEPTH:
        raise fail(f"includes nest deeper than {MAX_INCLUDE_DEPTH}")
    try:
        mode = target.stat().st_mode
    except OSError:
        raise fail(f"included file not found: {inc}", "paths are relative to the including spec") from None
    if not target.name.endswith((".yaml", ".yml")):
        raise fail(
            f"include '{inc}' is a link to a file that is not a YAML spec (.yaml or .yml)",
            "include other obsctl specs",
        )
    if stat.S_ISDIR(mode):
        raise fail(f"include '{inc}' is a folder", "include other obsctl specs")
    if not stat.S_ISREG(mode):
        raise fail(
            f"include '{inc}' is not a regular file (a device, FIFO or socket)",
            "include other obsctl specs",
            "OBS011",
        )
    return target


def apply_env(data: dict, smap: SourceMap, env: str | None) -> dict:
    """The spec as environment `env` sees it: its overrides merged over the base."""
    envs = data.get("environments") or {}
    if env is None:
        return data
    if not isinstance(envs, dict) or env not in envs:
        names = sorted(envs) if isinstance(envs, dict) else []
        hint = did_you_mean(env, names) or (
            f"defined: {', '.join(names)}" if names else "the spec defines no environments"
        )
        raise SpecError(
            [
                Diagnostic(
                    "OBS010",
                    "error",
                    f"unknown environment '{env}'",
                    smap.locate(("environments",), True),
                    "environments",
                    hint,
                )
            ]
        )
    over = envs[env] or {}
    if not isinstance(over, dict):
        raise SpecError(
            [
                Diagnostic(
                    "OBS010",
                    "error",
                    "an environment is a mapping of overrides",
                    smap.locate(("environments", env)),
                    f"environments.{env}",
                )
            ]
        )
    bad = sorted(set(over) & {"environments", "include", "service", "version"})
    if bad:
        raise SpecError(
            [
                Diagnostic(
                    "OBS010",
                    "error",
                    f"an environment cannot override '{bad[0]}'",
                    smap.locate(("environments", env, bad[0]), True),
                    f"environments.{env}.{bad[0]}",
                )
            ]
        )
    over_map = _remap(smap, ("environments", env), ())
    env_map = SourceMap(values=dict(smap.values), keys=dict(smap.keys), lines=dict(smap.lines))
    merged = _merge(data, over, env_map, over_map, ())
    smap.values, smap.keys = env_map.values, env_map.keys
    return merged


def validate_model(data: dict, smap: SourceMap, prefix: tuple = ()) -> object:
    """Build the pydantic Spec; every validation error becomes a Diagnostic at its YAML position."""
    from pydantic import ValidationError

    from .model import Spec

    try:
        return Spec.model_validate(data)
    except ValidationError as e:
        raise SpecError([_diagnostic(err, smap) for err in e.errors(include_url=False)]) from None


_FIELD_ALIASES = {"for_": "for", "from_": "from", "continue_": "continue"}


def _diagnostic(err: dict, smap: SourceMap) -> Diagnostic:
    # pydantic adds union-branch and validator names to `loc`; the YAML path is the str/int parts that exist.
    raw_loc = [p for p in err["loc"] if isinstance(p, int | str)]
    path: list = []
    for i, part in enumerate(raw_loc):
        cand = tuple(path) + (part,)
        if cand in smap.values or cand in smap.keys:
            path.append(part)
        elif i == len(raw_loc) - 1 and err["type"] in ("extra_forbidden", "missing"):
            path.append(part)
    kind = err["type"]
    field_path = ".".join(str(p) for p in path)
    key = path[-1] if path else ""
    msg = err["msg"]
    hint = ""
    code = "OBS100"
    redact: tuple[str, ...] = ()
    if kind.startswith("OBS"):  # the model's own checks name their code and hint (obsctl.model)
        code, loc = kind, smap.locate(tuple(path))
        hint = err.get("ctx", {}).get("hint", "")
        redact = tuple(err.get("ctx", {}).get("redact", ()))
    elif kind == "extra_forbidden":
        code = "OBS101"
        known = _known_fields(err["loc"][:-1])
        msg = f"unknown key '{key}'"
        hint = did_you_mean(str(key), known) or (f"allowed here: {', '.join(sorted(known))}" if known else "")
        if any(c in str(key) for c in "()[]'\" "):
            hint = "in a {flow: mapping} a comma ends the value: quote values that contain commas"
        loc = smap.locate(tuple(path), prefer_key=True)
    elif kind == "missing":
        code = "OBS102"
        msg = f"missing required key '{key}'"
        loc = smap.locate(tuple(path[:-1]), prefer_key=True)
    else:
        loc = smap.locate(tuple(path))
        if kind.startswith(
            ("int_", "float_", "bool_", "string_type", "dict_type", "list_type", "model_type")
        ):
            code = "OBS103"
            got = err.get("input")
            msg = f"{msg.rstrip('.')} (got {_describe(got)})"
            if isinstance(got, str) and ":" in got and kind.startswith(("int", "float")):
                hint = "YAML read this as text; quote times like '17:00' and give numbers without ':'"
            elif kind == "dict_type" or kind == "model_type":
                hint = "this key takes a mapping of key: value pairs"
            elif kind == "list_type":
                hint = "this key takes a list: [a, b] or one '- item' per line"
            elif kind == "string_type" and isinstance(got, int | float | bool) and loc is not None:
                written = _written(smap, loc)
                if written and written != str(got):  # 0x200 read as 512, 1e3 as 1000.0, on as true
                    hint = f"YAML read {written} as {_describe(got)}; quote it to keep the text: '{written}'"
        elif kind == "value_error":
            code = "OBS104"
            if isinstance(err.get("input"), dict) or err["loc"][-1:] == (
                "[key]",
            ):  # the object's name, or a key
                loc = smap.locate(tuple(path), prefer_key=True)
            msg = msg.removeprefix("Value error, ")
        elif kind == "string_pattern_mismatch":
            code = "OBS105"
            msg = f"'{err.get('input')}' does not have the expected form"
            hint = _pattern_hint(field_path)
        elif kind == "literal_error":
            code = "OBS106"
            msg = f"'{err.get('input')}' is not allowed here: {msg.removeprefix('Input should be ').rstrip('.')}"
    if field_path.endswith(".objective"):
        hint = "objectives are percentages: write 99.9, not 0.999"
    for py, yml in _FIELD_ALIASES.items():
        field_path = field_path.replace(py, yml)
    return Diagnostic(code, "error", msg, loc, field_path, hint, redact=redact)


def _written(smap: SourceMap, loc: Location) -> str:
    """The plain scalar as written at `loc` (up to the end of the line or a flow delimiter)."""
    text = smap.line_text(loc)[loc.column - 1 :]
    return re.split(r"[\s,\]}#]", text, maxsplit=1)[0] if text[:1] not in ("'", '"', "") else ""


def _describe(v: object) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return f"{type(v).__name__} {v!r}"


def _pattern_hint(field_path: str) -> str:
    if field_path.endswith("url"):
        return "an http:// or https:// URL; credentials go in *_file settings, never in the URL"
    if field_path.endswith("field"):
        return "a field name: letters, digits and '_'"
    if field_path == "service":
        return "service names are lowercase letters, digits and '-', e.g. asset-ws"
    if field_path.startswith("alerts"):
        return "alert names are CamelCase letters and digits, e.g. APIHighErrorRate"
    if ".times" in field_path:
        return "times are 'HH:MM', zero-padded and quoted, e.g. '09:00'"
    return ""


def _known_fields(loc: tuple) -> set[str]:
    """Field names of the model at `loc` (for 'did you mean' on unknown keys)."""
    from pydantic import BaseModel

    from .model import Spec

    model: type[BaseModel] | None = Spec
    for part in loc:
        if model is None:
            return set()
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        if info is None:
            continue
        model = _model_in(info.annotation)
    if model is None:
        return set()
    return {f.alias or n for n, f in model.model_fields.items()}


def _model_in(annotation: object) -> object:
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _display(path: Path) -> str:
    if str(path) == STDIN:
        return "<stdin>"
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load(path: Path, env: str | None = None) -> Loaded:
    """Read, merge includes, apply an environment and validate the model. Raises SpecError."""
    data, smap = read_raw(path)
    raw = data
    data = apply_env(data, smap, env)
    spec = validate_model(data, smap)
    return Loaded(spec, smap, path, env, raw)
