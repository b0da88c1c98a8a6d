"""The spec's JSON Schema, generated from the pydantic models and committed as specs/obsctl.schema.json."""

from __future__ import annotations

import json


def spec_schema() -> dict:
    from .model import Spec

    schema = Spec.model_json_schema(by_alias=True)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["$id"] = "https://obsctl.dev/schemas/obsctl.schema.json"
    schema["title"] = "obsctl spec"
    return schema


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"
