"""The web UI: the customers' privacy center (/privacy) and the staff console (/console).

Owns: server-rendered pages (Jinja2 + htmx), cookie sessions, CSRF, security headers, the
Thai/English message catalogue. Does not own: any data or rule; pages call domain services and
render their schemas.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from rujai.web.render import install_web_error_handlers
from rujai.web.security import WebMiddleware, cookie_settings, require_csrf

STATIC_DIR = Path(__file__).parent / "static"


def mount_web(app: FastAPI, settings: Any) -> None:
    """Mount /static, the privacy center under /privacy and the console (if present) at /console.

    Call once from ``create_app`` after ``install_handlers`` and the API routers: CSRF is checked on
    every unsafe request to both web routers; errors on web paths render as HTML.
    """
    from rujai.web.routes.privacy import router as privacy_router

    app.state.web_cookies = cookie_settings(settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    csrf = [Depends(require_csrf)]
    app.include_router(privacy_router, prefix="/privacy", dependencies=csrf)
    console = _console_router()
    if console is not None:
        app.include_router(console, prefix="/console", dependencies=csrf)
    install_web_error_handlers(app)
    app.add_middleware(WebMiddleware, keyring=app.state.keyring, cookies=app.state.web_cookies)


def _console_router() -> APIRouter | None:
    try:
        module = importlib.import_module("rujai.web.routes.console")
    except ModuleNotFoundError as e:
        if e.name != "rujai.web.routes.console":
            raise
        return None
    router = getattr(module, "router", None)
    return router if isinstance(router, APIRouter) else None
