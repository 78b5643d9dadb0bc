"""The one input boundary: what every request must be before any route (API or web) sees it.

Every route of the app is a ``BoundaryRoute`` (a test walks the route table). Before FastAPI reads
the body, the route, in this order:

1. runs the checks its dependencies ask to run first (``before_body``): an API key is verified
   before the body is read, so an anonymous caller gets 401 and the server parses nothing;
2. holds every query and path parameter to the rules of ``rujai.kit.inputs`` (no NUL, no lone
   surrogate), 422 naming the parameter;
3. for a JSON body: refuses another media type (415), parses strictly (400 naming ``body``:
   malformed, not UTF-8, nested too deeply, a number too long) and walks the document: a NUL, a
   lone surrogate, an integer outside 64 bits or a non-finite number anywhere, typed field or
   free-form dict alike, is 422 naming its path (``properties.note``). A body model may name lists
   whose items it checks itself (``boundary_items``): ``BatchCreate`` reports a bad event per
   event and keeps the others;
4. for a form (the web's htmx and plain posts): the same rules on every field, 422 naming it.

FastAPI then validates the document against the route's schema as usual. Integer fields and
parameters carry their own bounds in their schemas (a test checks that every integer the API
accepts has both); this walk is the floor under them, and the only check on free-form values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.params import Form
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile

from rujai.errors import BadRequest, UnsupportedMediaType
from rujai.kit import inputs

Preflight = Callable[[Request], Awaitable[None]]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]
F = TypeVar("F", bound=Callable[..., Any])
BEFORE_BODY = "__rujai_before_body__"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def before_body(check: Preflight) -> Callable[[F], F]:
    """Mark a dependency: routes that use it run ``check`` before reading the body."""

    def mark(dependency: F) -> F:
        setattr(dependency, BEFORE_BODY, check)
        return dependency

    return mark


class BoundaryRoute(APIRoute):
    """A route whose input passes the one boundary (module docstring) before FastAPI reads it."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.preflights = preflights(self.dependant)
        field = self.body_field
        self.json_body = field is not None and not isinstance(field.field_info, Form)
        annotation = field.field_info.annotation if field is not None else None
        items = getattr(annotation, "boundary_items", ())
        self.item_lists: frozenset[inputs.Loc] = frozenset((name,) for name in items)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            for check in self.preflights:
                await check(request)
            check_parameters(request)
            if self.json_body:
                request = await parsed_json(request, self.item_lists)
            elif request.method in BODY_METHODS and media_type(request) in FORM_TYPES:
                await check_form(request)
            return await handler(request)

        return guarded


def preflights(dependant: Dependant) -> list[Preflight]:
    """The ``before_body`` checks of a route's dependencies, each once, outermost first."""
    found: list[Preflight] = []
    stack = [dependant]
    while stack:
        current = stack.pop()
        check = getattr(current.call, BEFORE_BODY, None)
        if check is not None and check not in found:
            found.append(check)
        stack.extend(reversed(current.dependencies))
    return found


def check_parameters(request: Request) -> None:
    """Refuse a query or path parameter that holds a NUL or a lone surrogate (422 naming it)."""
    named = [("query", k, v) for k, v in request.query_params.multi_items()]
    named += [("path", k, v) for k, v in request.path_params.items() if isinstance(v, str)]
    refuse(_pair_problems(named))


async def parsed_json(request: Request, item_lists: frozenset[inputs.Loc]) -> Request:
    """Return the request with its JSON body parsed and checked (or raise 415/400/422)."""
    checked = CheckedRequest(request.scope, request.receive)
    body = await checked.body()
    if not body:
        return checked  # FastAPI answers 422 "field required" when the body is required
    if not is_json(media_type(request)):
        raise UnsupportedMediaType("send the body as application/json", field="content-type")
    try:
        document = inputs.loads(body)
    except inputs.Unreadable as e:
        raise BadRequest(f"body: {e}", field="body") from None
    problem = inputs.find_problem(document, skip=item_lists)
    if problem is not None:
        if problem.kind == "too_deep":
            raise BadRequest(f"body: {problem.message}", field="body")
        refuse([("body", problem)])
    checked.document = document
    return checked


async def check_form(request: Request) -> None:
    """Refuse a form field that holds a NUL or a lone surrogate (422 naming the field)."""
    form = await request.form()  # cached: the CSRF check and the page read the same form
    named = [("body", k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile)]
    refuse(_pair_problems(named))


def media_type(request: Request) -> str:
    """The request's media type, lowercased, without parameters ('' when none is sent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(kind: str) -> bool:
    """Whether a media type is JSON: ``application/json`` or ``application/*+json``."""
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _pair_problems(named: Iterable[tuple[str, str, Any]]) -> Iterator[tuple[str, inputs.Problem]]:
    for source, name, value in named:
        bad_name = inputs.scalar_problem(name)
        if bad_name is not None:
            yield source, inputs.Problem((), f"a parameter name {bad_name[1]}", bad_name[0])
            continue
        found = inputs.scalar_problem(value)
        if found is not None:
            yield source, inputs.Problem((name,), found[1], found[0])


def refuse(problems: Iterable[tuple[str, inputs.Problem]]) -> None:
    """Raise the 422 of the first problems found, if any, each naming its field."""
    errors = [
        {"type": p.kind, "loc": (source, *p.loc), "msg": p.message, "input": None}
        for source, p in problems
    ]
    if errors:
        raise RequestValidationError(errors)


class CheckedRequest(Request):
    """A request whose JSON body the boundary has parsed and checked (FastAPI reads it here)."""

    document: Any = None

    async def json(self) -> Any:
        return self.document
