"""JSON Schemas of the files mlopskit writes for other programs to read.

``decision.schema.json`` is the contract of every report's ``decision.json`` (version 1):
:func:`validate_decision` checks a parsed document against it and raises a ``ValueError``
naming the first offending field.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

#: the schema version written into every decision.json (MAJOR.MINOR).
DECISION_SCHEMA_VERSION = "1.1"


@cache
def decision_schema() -> dict[str, Any]:
    """The decision.json JSON Schema (draft 2020-12), parsed."""
    text = resources.files(__name__).joinpath("decision.schema.json").read_text("utf-8")
    return dict(json.loads(text))


def decision_errors(document: Any) -> list[str]:
    """Every violation of the decision.json schema in ``document``, as ``path: message``."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(decision_schema())
    out = []
    for err in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        out.append(f"{where}: {err.message}")
    return out


def validate_decision(document: Any) -> None:
    """Raise ``ValueError`` when ``document`` is not a valid decision.json (version 1)."""
    errors = decision_errors(document)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValueError(f"decision.json does not match its schema: {errors[0]}{more}.")
