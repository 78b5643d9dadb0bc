"""Render pages with Jinja2: a full page, or only its partial when htmx asks (``HX-Request``).

Every template gets ``lang``, ``t`` (the catalogue in the page language), ``csrf`` (the session's
token), ``brand``, ``dpo`` (TH-DPO-01), ``notice_url`` and ``switch_url`` (the same page in the
other language). Errors on web paths render ``_error.html`` (inside ``error.html`` for full
pages) instead of problem+json, as STYLE.md §6 asks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial as bind
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from rujai.errors import AppError
from rujai.web.i18n import (
    LANG_COOKIE,
    Lang,
    as_lang,
    format_date,
    format_datetime,
    resolve_lang,
    translate,
)
from rujai.web.security import SignInRequired, csrf_token, is_web_path, web_cookie_settings

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals.update(format_date=format_date, format_datetime=format_datetime)
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_htmx(request: Request) -> bool:
    """Return True when htmx made the request (it sends ``HX-Request: true``)."""
    return request.headers.get("hx-request") == "true"


def base_context(request: Request) -> dict[str, Any]:
    """Return what every template needs: language, translations, CSRF token, DPO, links."""
    lang = resolve_lang(request)
    other: Lang = "en" if lang == "th" else "th"
    policy = getattr(request.app.state, "policy", None)
    controller = getattr(policy, "controller", None)
    return {
        "request": request,
        "lang": lang,
        "other_lang": other,
        "t": bind(_t, lang=lang),
        "csrf": csrf_token(request),
        "brand": controller.name.get(lang) if controller else "rujai",
        "dpo": _dpo(controller, lang),
        "notice_url": f"/v1/notice?lang={lang}&format=html",
        "switch_url": _switch_url(request, other),
        "demo_hints": _demo_hints(request),
    }


def _t(key: str, *, lang: str, **values: object) -> str:
    return translate(key, lang, **values)


def _dpo(controller: Any, lang: Lang) -> dict[str, str | None] | None:
    if controller is None:
        return None
    dpo = controller.dpo
    return {
        "name": dpo.name.get(lang) if dpo.name else None,
        "email": dpo.email,
        "phone": dpo.phone,
        "address": dpo.address.get(lang) if dpo.address else None,
    }


def _demo_hints(request: Request) -> bool:
    """Show "read the code in the outbox" hints (``web.demo_hints``; on unless turned off)."""
    settings = getattr(request.app.state, "settings", None)
    return bool(getattr(getattr(settings, "web", None), "demo_hints", True))


def _switch_url(request: Request, other: Lang) -> str:
    query = request.url.include_query_params(lang=other).query
    return f"{request.url.path}?{query}"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    partial: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template``, or ``partial`` when htmx asked; remember a ``?lang=`` choice."""
    name = partial if partial and is_htmx(request) else template
    merged = {**base_context(request), **(context or {})}
    response = templates.TemplateResponse(request, name, merged, status_code=status_code)
    remember_lang(request, response)
    return response


def redirect(request: Request, url: str) -> RedirectResponse:
    """Answer a plain form POST with 303 See Other (POST/redirect/GET)."""
    response = RedirectResponse(url, status_code=303)
    remember_lang(request, response)
    return response


def remember_lang(request: Request, response: Response) -> None:
    """Store an explicit ``?lang=`` choice in a cookie so later pages keep it (TH-CON-05)."""
    lang = as_lang(request.query_params.get("lang"))
    if lang is None:
        return
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=LANG_COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=web_cookie_settings(request).secure,
    )


@dataclass(frozen=True)
class WebError:
    status: int
    code: str
    detail: str
    field: str | None = None


def render_error(request: Request, error: WebError) -> HTMLResponse:
    """Render an error as HTML; htmx gets the partial, retargeted to the page's ``#flash``."""
    context = {"error": error}
    response = render(
        request, "error.html", context, partial="_error.html", status_code=error.status
    )
    if is_htmx(request):
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def web_error_of(exc: Exception) -> WebError:
    """Describe an exception for the error page without leaking internals."""
    if isinstance(exc, AppError):
        return WebError(exc.status, exc.code, exc.message, exc.field)
    if isinstance(exc, RequestValidationError):
        fields = [".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()]
        return WebError(422, "invalid", ", ".join(f for f in fields if f), fields[0] or None)
    if isinstance(exc, StarletteHTTPException):
        return WebError(exc.status_code, "http_error", str(exc.detail))
    return WebError(500, "internal", "")


def sign_in_redirect(request: Request, url: str) -> Response:
    """Send a visitor who is not signed in to ``url`` (htmx: through ``HX-Redirect``)."""
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def install_web_error_handlers(app: FastAPI) -> None:
    """Render errors on web paths as HTML; leave the API's problem+json handlers for the rest."""
    for exc_type in (AppError, RequestValidationError, StarletteHTTPException, Exception):
        fallback = app.exception_handlers.get(exc_type)
        app.add_exception_handler(exc_type, _web_or(fallback))


def _web_or(fallback: Any) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, SignInRequired):
            return sign_in_redirect(request, exc.sign_in_url)
        if is_web_path(request.url.path) or fallback is None:
            return render_error(request, web_error_of(exc))
        response: Response = await fallback(request, exc)
        return response

    return handle
