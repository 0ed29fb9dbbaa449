"""Reading JSON request bodies with field errors instead of exceptions."""

from __future__ import annotations

from flask import request

from app.core.errors import InvalidInput

TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "list", dict: "object"}


def json_body(**spec: tuple[type, int]) -> dict:
    """Read the JSON object body; ``spec`` maps each required field to (type, max length).

    Missing fields, wrong types and overlong strings come back together as one 422.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    errors: dict[str, list[str]] = {}
    values = {}
    for name, (kind, max_length) in spec.items():
        value = body.get(name)
        if value is None or value == "":
            errors[name] = ["This field is required."]
        elif not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            errors[name] = [f"Must be a {TYPE_NAMES.get(kind, kind.__name__)}."]
        elif isinstance(value, str) and len(value) > max_length:
            errors[name] = [f"Must be at most {max_length} characters."]
        else:
            values[name] = value
    if errors:
        raise InvalidInput(fields=errors)
    return values
