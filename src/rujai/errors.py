"""Application errors and how they are rendered.

Every expected failure is an ``AppError`` with an HTTP status and a stable code; handlers render it
as RFC 9457 ``application/problem+json``. Messages never carry personal data: refer to subjects by
pseudonymous id only.

    AppError (500, internal)
    ├── Invalid (422, invalid)            bad input; ``field`` names the offending field
    │   └── PolicyInvalid (422)           a policy file breaks a rule (file, line, field, rule)
    ├── Unauthorized (401, unauthorized)  missing or unknown API key
    ├── Forbidden (403, forbidden)        key lacks the scope
    │   └── PolicyDenied (403)            the policy chokepoint refused (see policy.errors)
    ├── NotFound (404, not_found)
    ├── Conflict (409, conflict)
    ├── PayloadTooLarge (413, payload_too_large)
    └── (rujai.write_errors) Overloaded (503, overloaded), WriteFailed (503, write_failed)
                                          the write queue is full / a batch could not commit;
                                          both send ``Retry-After``
"""

from __future__ import annotations

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


def problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    """Render a problem document with the right media type (and Retry-After when it has one)."""
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in body:
        headers["Retry-After"] = str(body["retry_after"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or None)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


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


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    if exc.status_code == 413:
        return problem_response(413, PayloadTooLarge(str(exc.detail), field="body").problem())
    body = {
        "type": "about:blank",
        "title": str(exc.detail),
        "status": exc.status_code,
        "error": "http_error",
        "detail": str(exc.detail),
    }
    return problem_response(exc.status_code, body)


def install_handlers(app: FastAPI) -> None:
    """Render every AppError, validation error and HTTP error as problem+json."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
