"""``/api/v1/openapi.json``: the OpenAPI 3.1 description, generated from the app's routes and the
operations their views declare (``core.schema.operation``). Nothing here restates a message: the
paths and path parameters come from the url_map, summaries from the views' docstrings, schemas
from the models (pydantic writes JSON Schema 2020-12, which OpenAPI 3.1 uses as is), and the error
answers from what the surface, the edge checks and the operation say each endpoint can refuse."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app
from pydantic import BaseModel, TypeAdapter

from app.core.edge import CONTROL_CLASS, ID_MAX
from app.core.errors import ErrorBody, InvalidInput
from app.core.schema import BODY_METHODS, Content, Operation, operation
from app.web.surface import public

blueprint = Blueprint("openapi", __name__)

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
PATH_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
SEGMENT = {"type": "string", "minLength": 1, "pattern": rf"^[^/{CONTROL_CLASS}]+$"}
ID = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
REFUSALS = {
    400: "Refused at the edge: control characters in the address, a JSON body nested too deep, a missing or bad header",
    401: "No bearer token, or one that is invalid, expired or revoked",
    403: "The token's user may not do this",
    404: "No such object (or not one of yours)",
    409: "A conflict with the current state (a seat taken meanwhile, a request with this key still running, "
    "someone else's change)",
    410: "Gone: the hold expired",
    415: "The body must be JSON (Content-Type: application/json)",
    422: "Fields that do not validate, by name",
    429: "Too many requests: wait Retry-After seconds",
    502: "The payment provider could not be reached",
}
REFUSAL_NAMES = {
    400: "BadRequest",
    401: "NotAuthenticated",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "RateLimited",
    502: "ProviderUnavailable",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}


class Description:
    """One generation of the document: the schemas referenced so far, by name."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict] = {}

    def schema(self, declared: Any, mode: str) -> dict:
        """A JSON Schema for a model, a union of models or a raw schema; models go to components."""
        if isinstance(declared, dict):
            return declared
        generated = TypeAdapter(declared).json_schema(mode=mode, ref_template=REF, by_alias=True)
        for name, definition in generated.pop("$defs", {}).items():
            self._keep(name, definition)
        if isinstance(declared, type) and issubclass(declared, BaseModel):
            self._keep(declared.__name__, generated)
            return {"$ref": REF.format(model=declared.__name__)}
        return generated

    def _keep(self, name: str, definition: dict) -> None:
        if self.schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two API models are called {name}: rename one")

    def path(self, app: Flask, rule) -> tuple[str, dict]:
        view = app.view_functions[rule.endpoint]
        op: Operation | None = getattr(view, "api_operation", None)
        if op is None:
            raise LookupError(f"{rule.endpoint} declares no operation (core.schema.operation)")
        path = PATH_ARGUMENT.sub(r"{\2}", rule.rule.removeprefix(PREFIX))
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": ID if converter == "int" else SEGMENT}
            for converter, name in PATH_ARGUMENT.findall(rule.rule)
        ]
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        items = {}
        for method in methods:
            suffix = f"_{method.lower()}" if len(methods) > 1 else ""
            items[method.lower()] = self.operation(op, view, method, parameters, rule.endpoint + suffix)
        return path, items

    def operation(self, op: Operation, view, method: str, path_parameters: list, endpoint: str) -> dict:
        summary, description = op.doc
        is_public = getattr(view, "is_public", False)
        headers = tuple(getattr(view, "api_headers", ()))
        item: dict[str, Any] = {
            "operationId": endpoint.removeprefix("api.").replace(".", "_"),
            "tags": [endpoint.split(".")[1]],
            "summary": summary,
        }
        if description:
            item["description"] = description
        if is_public:
            item["security"] = []
        parameters = [*path_parameters, *self._query(op), *(self._header(h) for h in headers)]
        if parameters:
            item["parameters"] = parameters
        reads_body = method in BODY_METHODS and (op.body is not None or op.form is not None)
        if reads_body:
            content = {}
            if op.body is not None:
                content["application/json"] = {"schema": self.schema(op.body, "validation")}
            if op.form is not None:
                content["application/x-www-form-urlencoded"] = {"schema": self.schema(op.form, "validation")}
            item["requestBody"] = {"required": op.form is None, "content": content}
        refusals = {400, *op.errors, *(status for h in headers for status in h.errors)}
        refusals |= {401} if not is_public else set()
        refusals |= {404} if path_parameters else set()
        refusals |= {409} if method != "GET" else set()  # a commit the database refused meanwhile
        refusals |= {415} if reads_body and op.form is None else set()
        refusals |= {422} if (op.query or reads_body) and op.invalid is InvalidInput else set()
        replayed = {name: spec for h in headers for name, spec in h.answer_headers.items()}
        item["responses"] = {
            **{str(status): self._answer(declared, replayed) for status, declared in sorted(op.answers.items())},
            **{str(status): {"$ref": f"#/components/responses/{REFUSAL_NAMES[status]}"} for status in sorted(refusals)},
        }
        return item

    def _query(self, op: Operation) -> list[dict]:
        if op.query is None:
            return []
        schema = op.query.model_json_schema(mode="validation", by_alias=True, ref_template=REF)
        required = set(schema.get("required", ()))
        parameters = []
        for name, prop in schema["properties"].items():
            prop = _without_null(prop)
            description = prop.pop("description", None)
            parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                parameter["description"] = description
            parameters.append(parameter)
        return parameters

    @staticmethod
    def _header(header) -> dict:
        schema: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": rf"^[^{CONTROL_CLASS}]+$"}
        if header.max_length:
            schema["maxLength"] = header.max_length
        return {
            "name": header.name,
            "in": "header",
            "required": header.required,
            "description": header.description,
            "schema": schema,
        }

    def _answer(self, declared: Any, headers: dict) -> dict:
        if isinstance(declared, Content):
            answer = {
                "description": declared.description,
                "content": {media: {"schema": self.schema(s, "serialization")} for media, s in declared.media.items()},
            }
            headers = {**headers, **{name: {"schema": {"type": "string"}} for name in declared.headers}}
        else:
            schema = self.schema(declared, "serialization")
            answer = {"description": "OK", "content": {"application/json": {"schema": schema}}}
        if headers:
            answer["headers"] = headers
        return answer

    def refusal(self, status: int) -> dict:
        answer = {
            "description": REFUSALS[status],
            "content": {"application/json": {"schema": self.schema(ErrorBody, "serialization")}},
        }
        if status in (409, 429):
            answer["headers"] = RETRY_AFTER
        return answer


def _without_null(prop: dict) -> dict:
    """A query parameter is absent rather than null: ``X | None`` is described as X."""
    prop = {key: value for key, value in prop.items() if key != "title"}
    options = [option for option in prop.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        prop = {**options[0], **prop}
    elif options:
        prop["anyOf"] = options
    if prop.get("default") is None:
        prop.pop("default", None)
    return prop


def describe(app: Flask) -> dict:
    """The whole document for ``app``'s routes under /api/v1."""
    description = Description()
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.startswith("api.") and rule.rule.startswith(PREFIX + "/"):
            path, items = description.path(app, rule)
            paths.setdefault(path, {}).update(items)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TMS API",
            "version": "1",
            "description": "Bus tickets and fleet. Authenticate with POST /auth/token, then send "
            "`Authorization: Bearer <token>`. Request bodies are JSON. Errors are "
            '`{"error": {"code", "message", "fields"}}`; `fields` names the request\'s fields as sent.',
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "responses": {name: description.refusal(status) for status, name in REFUSAL_NAMES.items()},
            "schemas": dict(sorted(description.schemas.items())),
        },
    }


@blueprint.get("/openapi.json")
@public
@operation(answers={200: Content({"application/json": {"type": "object"}}, "This description")})
def openapi():
    """This description"""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if "tms.openapi" not in app.extensions:  # routes are fixed once the app serves
        app.extensions["tms.openapi"] = describe(app)
    return app.json.response(app.extensions["tms.openapi"])
