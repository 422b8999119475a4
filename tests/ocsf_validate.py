"""Validate OCSF 1.5.0 Detection Finding (class_uid 2004) events against the vendored schema.

The schema lives in ``tests/ocsf/detection_finding-1.5.0.schema.json``; where it came from and
how to regenerate it is in ``tests/ocsf/SOURCE.md``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parent / "ocsf" / "detection_finding-1.5.0.schema.json"


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _where(error: Any) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "<root>"


def _message(error: Any) -> str:
    # OCSF "at_least_one" / "just_one" constraints are anyOf / oneOf of single-key "required"
    # schemas; jsonschema's own message for them ("{} is not valid under any of the given
    # schemas") does not say which attributes are meant, so name them.
    subschemas = error.validator_value if error.validator in ("anyOf", "oneOf") else None
    if subschemas and all(list(s) == ["required"] and len(s["required"]) == 1 for s in subschemas):
        names = ", ".join(s["required"][0] for s in subschemas)
        if error.validator == "anyOf":
            return f"needs at least one of: {names}"
        return f"needs exactly one of: {names}"
    return error.message


def validate_finding(obj: dict) -> list[str]:
    """Return one message per schema violation in ``obj``; an empty list means it is valid.

    Each message is ``"<json path>: <what is wrong>"``, e.g.
    ``"finding_info: 'uid' is a required property"``.
    """
    errors = sorted(
        _validator().iter_errors(obj), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    return [f"{_where(e)}: {_message(e)}" for e in errors]
