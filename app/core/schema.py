"""The JSON API's one schema layer (STYLE.md §17): each request and response is a pydantic model,
defined once; validation errors, the JSON sent back and ``/api/v1/openapi.json`` come from it.

An endpoint declares its messages with :func:`operation`, under its route and ``@public``::

    @blueprint.post("/holds")
    @operation(body=HoldRequest, answers={201: HoldAnswer}, errors=(409, 429))
    def create_hold(body: HoldRequest):
        \"\"\"Hold 1-6 seats for a few minutes (all or none)\"\"\"   # the summary in the description
        ...
        return HoldAnswer(hold=...), 201

- ``query``: a :class:`QueryModel` read from the query string (values arrive as text, so numbers
  are parsed); ``body``: a :class:`Model` (or :func:`one_of` models) read from a JSON body;
  ``form``: a model read from a form body (OsmAnd trackers). The view receives them by those names.
- Anything that does not validate is refused before the view runs: 422 with
  ``{"error": {"code": "invalid", "message", "fields": {name as sent: [messages]}}}`` (``invalid=``
  another DomainError class to answer otherwise), 415 when a JSON body is due and something else
  came.
- ``answers`` maps each success status to its model (or a union of models, or :class:`Content`
  for other media types). The view returns a model instance (with a status when there are several),
  which is checked against the declaration and serialised by the model: the JSON sent and the
  description cannot drift. ``errors`` lists the statuses the endpoint can refuse with besides
  those every endpoint of its kind can (see ``web/openapi.py``).
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from flask import Response, current_app, request
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from app.core.edge import CONTROL_CLASS, DAY_MAX, DAY_MIN, ID_MAX
from app.core.errors import DomainError, InvalidInput, UnsupportedMediaType

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
TEXT_PATTERN = rf"^[^{CONTROL_CLASS}]*$"  # one line of text: no control characters


class Model(BaseModel):
    """A JSON message. Strict: ``"5"`` is not a number and ``1`` is not text; unknown keys are
    ignored (clients may send more than we read)."""

    model_config = ConfigDict(
        strict=True, extra="ignore", populate_by_name=True, allow_inf_nan=False, use_attribute_docstrings=True
    )

    def wire(self) -> dict:
        """As sent on the wire, without the fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class QueryModel(Model):
    """Query-string parameters: text on the wire, so ``?trip=5`` is the number 5."""

    model_config = ConfigDict(strict=False)


def text(max_length: int, *, min_length: int = 1) -> Any:
    """A string of ``min_length`` to ``max_length`` characters on one line (no control characters)."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=TEXT_PATTERN)]


Id = Annotated[int, Field(ge=1, le=ID_MAX)]
Amount = Annotated[int, Field(ge=0, le=ID_MAX, description="Minor units (RWF has none: 5000 is 5,000 RWF)")]
Day = Annotated[date, Field(ge=DAY_MIN, le=DAY_MAX)]
Timestamp = Annotated[
    AwareDatetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def one_of(choose: Callable[[Any], str], **variants: type[Model]) -> Any:
    """A body that is one of several models, picked by ``choose(raw body)`` returning a name in
    ``variants``. Errors name the fields of the chosen one."""
    members = tuple(Annotated[model, Tag(name)] for name, model in variants.items())
    return Annotated[Union[members], Discriminator(choose)]  # noqa: UP007  (built at run time)


@dataclass(frozen=True)
class Content:
    """An answer in media types other than one JSON model: ``{media type: model or JSON Schema}``.
    The view returns a ``Response`` itself."""

    media: dict[str, Any]
    description: str = "OK"
    headers: tuple[str, ...] = ()  # response headers sent with it


@dataclass(frozen=True)
class Header:
    """A request header an endpoint reads, declared by the decorator that reads it (``idempotent``)
    as ``view.api_headers``."""

    name: str
    description: str
    required: bool = False
    max_length: int | None = None
    errors: tuple[int, ...] = ()  # what the endpoint may answer because of it
    answer_headers: dict[str, dict] = field(default_factory=dict)  # sent back on success: name → OpenAPI header


# --- Validation errors -------------------------------------------------------------------------


def _message(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    plain = {
        "missing": "This field is required.",
        "string_type": "Must be a string.",
        "string_unicode": "Must be valid text.",
        "string_pattern_mismatch": "Must be one line of text without control characters.",
        "int_type": "Must be an integer.",
        "int_parsing": "Must be an integer.",
        "int_from_float": "Must be an integer.",
        "int_parsing_size": "Must be an integer.",
        "float_type": "Must be a number.",
        "float_parsing": "Must be a number.",
        "finite_number": "Must be a finite number.",
        "bool_type": "Must be true or false.",
        "bool_parsing": "Must be true or false.",
        "list_type": "Must be a list.",
        "dict_type": "Must be an object.",
        "model_type": "Must be an object.",
        "model_attributes_type": "Must be an object.",
        "date_type": "Give the date as YYYY-MM-DD.",
        "date_parsing": "Give the date as YYYY-MM-DD.",
        "date_from_datetime_parsing": "Give the date as YYYY-MM-DD.",
        "date_from_datetime_inexact": "Give the date as YYYY-MM-DD.",
    }
    if kind in plain:
        return plain[kind]
    if kind == "string_too_short":
        shortest = ctx.get("min_length")
        return "This field is required." if shortest == 1 else f"Must be at least {shortest} characters."
    if kind == "string_too_long":
        return f"Must be at most {ctx['max_length']} characters."
    if kind == "too_short":
        return f"Give at least {ctx['min_length']}."
    if kind == "too_long":
        return f"Give at most {ctx['max_length']}."
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = ctx.get("ge", ctx.get("le"))
        return f"Must be at {'least' if kind == 'greater_than_equal' else 'most'} {bound}."
    if kind == "literal_error":
        return f"Must be one of {ctx['expected']}."
    return error["msg"]


def field_errors(error: ValidationError, *, tags: frozenset[str] = frozenset()) -> tuple[str | None, dict]:
    """The errors by the top-level field a client sent (``"passengers"``), each message saying
    where inside it (``"item 2, name: This field is required."``); a message for the body as a
    whole when it is not an object at all."""
    fields: dict[str, list[str]] = {}
    whole = None
    for item in error.errors(include_url=False):
        loc = list(item["loc"])
        if loc and loc[0] in tags:
            loc = loc[1:]
        if not loc:
            whole = "The request body must be a JSON object."
            continue
        inside = ", ".join(f"item {part + 1}" if isinstance(part, int) else str(part) for part in loc[1:])
        message = _message(item)
        fields.setdefault(str(loc[0]), []).append(f"{inside}: {message}" if inside else message)
    return whole, fields


# --- Operations --------------------------------------------------------------------------------


@dataclass
class Operation:
    """What one endpoint reads and answers: the source of its validation, output and description."""

    view: Callable
    answers: dict[int, Any]
    query: type[QueryModel] | None = None
    body: Any = None
    form: type[Model] | None = None
    errors: tuple[int, ...] = ()
    invalid: type[DomainError] = InvalidInput
    adapters: dict[str, TypeAdapter] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()  # the variant names of a one_of body, left out of field names

    def __post_init__(self) -> None:
        for name in ("query", "body", "form"):
            if getattr(self, name) is not None:
                self.adapters[name] = TypeAdapter(getattr(self, name))
        self.tags = frozenset(_tags(self.body))

    @property
    def doc(self) -> tuple[str, str]:
        """Summary and description, from the view's docstring."""
        summary, _, rest = inspect.cleandoc(self.view.__doc__ or "").partition("\n")
        return summary.strip(), inspect.cleandoc(rest)

    def read(self, name: str, data: Any) -> Any:
        try:
            return self.adapters[name].validate_python(data)
        except ValidationError as error:
            whole, fields = field_errors(error, tags=self.tags)
            if self.invalid is InvalidInput:
                raise InvalidInput(whole, fields=fields) from None
            named = "; ".join(f"{key}: {' '.join(messages)}" for key, messages in fields.items())
            raise self.invalid(whole or named, fields=fields) from None

    def inputs(self) -> dict[str, Any]:
        """The validated inputs of this request, by the names the view takes."""
        found: dict[str, Any] = {}
        if self.query is not None:
            found["query"] = self.read("query", request.args.to_dict())
        if request.method in BODY_METHODS and (self.body is not None or self.form is not None):
            if self.body is not None and request.is_json:
                found["body"] = self.read("body", request.get_json(silent=True))
            elif self.form is not None:
                found["form"] = self.read("form", request.form.to_dict())
            else:
                raise UnsupportedMediaType()
        return found

    def respond(self, result: Any) -> Response:
        """The view's answer, checked against the declared one and serialised by its model."""
        if isinstance(result, Response):
            if result.status_code not in self.answers:
                raise TypeError(f"{self.view.__name__} answered an undeclared {result.status_code}")
            return result
        model, status = result if isinstance(result, tuple) else (result, self.default_status)
        allowed = _members(self.answers.get(status))
        if not (allowed and isinstance(model, allowed)):
            raise TypeError(f"{self.view.__name__} answered {type(model).__name__} with {status}, not as declared")
        response = current_app.json.response(model.model_dump(mode="json", by_alias=True))
        response.status_code = status
        return response

    @property
    def default_status(self) -> int:
        return min(self.answers)


def _members(declared: Any) -> tuple[type, ...]:
    if declared is None or isinstance(declared, Content):
        return ()
    if get_origin(declared) in (Union, types.UnionType):
        return get_args(declared)
    return (declared,)


def _tags(declared: Any) -> list[str]:
    """The variant names of a :func:`one_of` body."""
    if get_origin(declared) is not Annotated:
        return []
    union, *_ = get_args(declared)
    found = []
    for member in get_args(union):
        found += [meta.tag for meta in get_args(member)[1:] if isinstance(meta, Tag)]
    return found


def operation(
    *,
    answers: dict[int, Any],
    query: type[QueryModel] | None = None,
    body: Any = None,
    form: type[Model] | None = None,
    errors: tuple[int, ...] = (),
    invalid: type[DomainError] = InvalidInput,
) -> Callable:
    """Declare what an API endpoint reads and answers (see the module's docstring)."""

    def decorate(view: Callable) -> Callable:
        op = Operation(
            view=view,
            answers=answers,
            query=query,
            body=body,
            form=form,
            errors=errors,
            invalid=invalid,
        )

        @functools.wraps(view)
        def endpoint(**path):
            return op.respond(view(**path, **op.inputs()))

        endpoint.api_operation = op  # type: ignore[attr-defined]  (read by web/openapi.py)
        return endpoint

    return decorate
