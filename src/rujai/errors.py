"""Application errors and how they are rendered.

Every expected failure is an ``AppError`` with an HTTP status and a stable code; handlers render it
as RFC 9457 ``application/problem+json``. Messages never carry personal data: refer to subjects by
pseudonymous id only.

    AppError (500, internal)
    ├── BadRequest (400, bad_request)     a body that is not JSON (syntax, UTF-8, depth); ``body``
    ├── Invalid (422, invalid)            bad input; ``field`` names the offending field
    │   └── PolicyInvalid (422)           a policy file breaks a rule (file, line, field, rule)
    ├── Unauthorized (401, unauthorized)  missing or unknown API key
    ├── Forbidden (403, forbidden)        key lacks the scope
    │   └── PolicyDenied (403)            the policy chokepoint refused (see policy.errors)
    ├── NotFound (404, not_found)
    ├── Conflict (409, conflict)
    ├── PayloadTooLarge (413, payload_too_large)
    ├── UnsupportedMediaType (415, unsupported_media_type)
    └── (rujai.write_errors) Overloaded (503, overloaded), WriteFailed (503, write_failed)
                                          the write queue is full / a batch could not commit;
                                          both send ``Retry-After``

HTTP errors of the router itself (404 no such path, 405 with ``Allow``) and unexpected exceptions
(500, nothing about them in the answer) are problem documents too, and ``document_problems``
declares every one of them in the OpenAPI document, with the ``Problem`` schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://rujai.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "error": self.code,
            "detail": self.message,
        }
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class BadRequest(AppError):
    status = 400
    code = "bad_request"
    title = "Unreadable request body"


class Invalid(AppError):
    status = 422
    code = "invalid"
    title = "Invalid input"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    title = "Missing or unknown API key"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class PolicyDenied(Forbidden):
    """The policy chokepoint refused a use of personal data; ``reason`` is the reason code."""

    code = "policy_denied"
    title = "Refused by the privacy policy"

    def __init__(self, message: str, *, reason: str, field: str | None = None) -> None:
        super().__init__(message, field=field, reason=reason)
        self.reason = reason


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "Request body too large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


# HTTP errors raised by the router or Starlette, not by rujai: (code, title) by status.
HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}
HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})
_SOURCES = ("body", "query", "path", "header", "cookie")


class ProblemResponse(JSONResponse):
    """``application/problem+json``; a problem document always renders, even a strange one."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:  # a lone surrogate echoed from the input: escape it
            return json.dumps(content, separators=(",", ":")).encode("ascii")


def problem_response(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """Render a problem document with the right media type (and Retry-After when it has one)."""
    extra: dict[str, str] = dict(headers or {})
    if status == 401:
        extra["WWW-Authenticate"] = "Bearer"
    if "retry_after" in body:
        extra["Retry-After"] = str(body["retry_after"])
    return ProblemResponse(body, status_code=status, headers=extra or None)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    if len(parts) > 1 and parts[0] in _SOURCES:  # ("query",) alone: a bad parameter name
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)  # noqa: S101 - registered for AppError only
    return problem_response(exc.status, exc.problem())


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    errors = [
        {
            "field": _field_of(e.get("loc", ())),
            "message": str(e.get("msg", "")),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    body = Invalid(f"{first['field']}: {first['message']}", field=str(first["field"])).problem()
    body["errors"] = errors
    return problem_response(422, body)


def allowed_methods(request: Request, fallback: str) -> str:
    """Every method the path has (Starlette's ``Allow`` names only one route's), from OpenAPI."""
    path = request.url.path
    spec: dict[str, Any] = request.app.openapi()
    for template, operations in spec.get("paths", {}).items():
        if _path_regex(template).fullmatch(path):
            return ", ".join(sorted(m.upper() for m in operations if m.upper() in HTTP_METHODS))
    return fallback  # a web page: not in the OpenAPI document


@lru_cache(maxsize=256)
def _path_regex(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    status = exc.status_code
    code, title = HTTP_PROBLEMS.get(status, ("http_error", str(exc.detail)))
    body = {
        "type": f"https://rujai.dev/problems/{code}",
        "title": title,
        "status": status,
        "error": code,
        "detail": str(exc.detail),
    }
    if status in (413, 400):
        body["field"] = "body"
    headers = dict(exc.headers or {})
    if status == 405:
        headers["Allow"] = allowed_methods(request, headers.get("Allow", ""))
    return problem_response(status, body, headers=headers)


async def _internal_error(_request: Request, _exc: Exception) -> JSONResponse:
    """A bug: answer a problem document that says nothing (the server logs the traceback)."""
    error = AppError("internal error; the operator can find it in the server log")
    return problem_response(500, error.problem())


def install_handlers(app: FastAPI) -> None:
    """Render every AppError, validation error, HTTP error and bug as problem+json."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; `field` names the offending input field.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "error": {"type": "string"},
        "detail": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": ["string", "null"]},
                },
            },
        },
    },
    "additionalProperties": True,
}
# What any operation may answer besides its own errors, and when.
ALWAYS = {
    404: "Not found: no such path, or no such resource.",
    405: "Method not allowed; `Allow` lists the methods of the path.",
    422: "Invalid input; `field` names the offending field (e.g. `events.3.type`).",
    500: "Internal error (a bug); the answer says nothing more.",
    503: "Overloaded or the write failed; retry after `Retry-After` seconds.",
}
WITH_BODY = {
    400: "The body is not JSON: malformed, not UTF-8, nested too deeply; `field` is `body`.",
    413: "The body is larger than the server accepts.",
    415: "The body is not `application/json`.",
}
WITH_KEY = {
    401: "Missing or invalid API key (checked before the body is read).",
    403: "The API key lacks the required scope.",
}


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Declare every error an operation may answer, each a problem+json ``Problem``."""
    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            implied = {**ALWAYS}
            if "requestBody" in operation:
                implied.update(WITH_BODY)
            if operation.get("security"):
                implied.update(WITH_KEY)
            for status, description in implied.items():
                answers.setdefault(str(status), {"description": description})
            for status, answer in answers.items():
                if status[0] in "45":
                    answer["content"] = problem
    return spec
