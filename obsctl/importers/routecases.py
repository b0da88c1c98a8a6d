"""Route cases for an imported alertmanager.yml: label sets made from the source tree's matchers (one that reaches
each route, one that a negative matcher turns away), sent through the real `amtool config routes test` for the
source config and for the config obsctl builds from the imported spec. A case whose receivers differ is reported:
the import never changes where an alert goes without saying so."""

from __future__ import annotations

import re
from pathlib import Path

MAX_CASES = 80  # amtool runs twice per case; a large tree is sampled in tree order


def _sample(op: str, value: str) -> str | None:
    """A value the matcher accepts (`=`, `=~`), or None when no simple one is found."""
    if op == "=":
        return value
    for branch in value.split("|"):
        guess = re.sub(r"\.\*|\.\+", "x", branch).replace("\\", "")
        if re.fullmatch(r"[\w\-.:/ @]*", guess) and _matches(value, guess):
            return guess
    return None


def _matches(regex: str, value: str) -> bool:
    try:
        import re2

        return re2.fullmatch(regex, value) is not None
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        return re.fullmatch(regex, value) is not None
    except Exception:
        return False


def route_cases(root: dict, service: str, matchers: callable) -> list[dict[str, str]]:
    """Label sets from the source tree, each with `service=<service>` unless a matcher sets it (obsctl's alerts
    always carry it)."""
    cases: list[dict[str, str]] = [{}]

    def walk(route: dict, path: dict[str, str]) -> None:
        for child in route.get("routes") or []:
            if not isinstance(child, dict):
                continue
            ms = matchers(child) or []
            here = dict(path)
            ok = True
            for name, op, value in ms:
                if op in ("=", "=~"):
                    sample = _sample(op, value)
                    if sample is None:
                        ok = False
                        break
                    here[name] = sample
            if not ok:
                continue
            cases.append(here)
            for name, op, value in ms:  # the same labels, turned away by a negative matcher
                if op in ("!=", "!~"):
                    sample = _sample("=" if op == "!=" else "=~", value)
                    if sample is not None:
                        cases.append({**here, name: sample})
            walk(child, here)

    walk(root, {})
    out: list[dict[str, str]] = []
    for c in cases:
        c = {"service": service, **c} if "service" not in c else c
        if c not in out:
            out.append(c)
    return out[:MAX_CASES]


def compare(
    source: Path, built: Path, cases: list[dict[str, str]]
) -> tuple[list[tuple[dict, list, list]], str]:
    """(cases whose receivers differ: (labels, source receivers, built receivers), an error when amtool could not
    evaluate a config)."""
    from ..verify.amtool import AmtoolError, routes_test

    differ = []
    for labels in cases:
        try:
            want = routes_test(source, labels)
        except AmtoolError as e:
            return differ, f"amtool cannot evaluate the source config: {e}"
        try:
            got = routes_test(built, labels)
        except AmtoolError as e:
            return differ, f"amtool cannot evaluate the built config: {e}"
        if set(want) != set(got):
            differ.append((labels, want, got))
    return differ, ""
