"""The composition root: ``create_app(settings)`` wires settings, storage, policy and routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import rujai.listeners  # noqa: F401 - registers unlearning on withdrawal/erasure
from rujai import __version__
from rujai.audit.anchor import Anchor
from rujai.boundary import BoundaryRoute
from rujai.config import Settings
from rujai.consent import notices as consent_notices
from rujai.db import WalCheckpointer, make_engine, make_session_factory, upgrade
from rujai.disclosures.outbox_delivery import start_delivery
from rujai.errors import PayloadTooLarge, document_problems, install_handlers, problem_response
from rujai.kit import heap
from rujai.kit.keyset import load_keyring
from rujai.kit.time import utcnow
from rujai.policy.loader import load_policy_file
from rujai.policy.schemas import Policy
from rujai.rights import erasure_log
from rujai.rights.erasure_log import ErasureLog
from rujai.rights.retention import start_scheduler
from rujai.web import mount_web
from rujai.writer import Writer, session_scope


def create_app(settings: Settings) -> FastAPI:
    """Build the FastAPI application for ``settings``."""
    if settings.run_migrations_on_start:
        upgrade(settings.db.url)
    storage = Storage.open(settings)

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        storage.start()
        rights = settings.rights
        interval = rights.retention_interval_hours
        scheduler = start_scheduler(app_.state, interval) if interval > 0 else None
        every, timeout = rights.processor_deliver_interval_s, rights.processor_timeout_s
        deliverer = start_delivery(app_.state, every, timeout) if every > 0 else None  # TH-PRC-01
        heap.settle()  # start-up's objects out of the collector's walks (kit/heap.py)
        yield
        if deliverer is not None:
            deliverer.stop()
        if scheduler is not None:
            scheduler.stop()
        heap.unsettle()
        storage.close()

    app = App(
        title="rujai",
        version=__version__,
        summary="Personalization under Thailand's PDPA and the EU GDPR.",
        lifespan=lifespan,
    )
    app.router.route_class = BoundaryRoute  # every route passes the one input boundary
    app.state.settings = settings
    storage.attach(app.state)
    app.state.policy = load_policy_file(settings.policy.path)
    _refuse_changed_notices(settings, app.state.policy, str(settings.policy.path))
    master = settings.security.master_key
    app.state.keyring = load_keyring(
        master.get_secret_value() if master else None, settings.security.master_key_file
    )
    install_handlers(app)
    _include_routers(app)
    mount_web(app, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    return app


def _refuse_changed_notices(settings: Settings, policy: Policy, filename: str) -> None:
    """Serve no policy whose consent texts changed under a version already granted (TH-PUR-01).

    On an engine of its own, disposed at once: an app that is built but never started (OpenAPI,
    tests) keeps no connection open."""
    engine = make_engine(settings.db.url, pool_size=1)
    try:
        if not inspect(engine).has_table("consent_record"):
            return  # not migrated yet: nothing granted
        with session_scope(make_session_factory(engine)) as session:
            consent_notices.refuse_changed_notices(session, policy=policy, filename=filename)
    finally:
        engine.dispose()


class App(FastAPI):
    """The FastAPI app whose OpenAPI document declares every problem an operation may answer."""

    def openapi(self) -> dict[str, Any]:
        if not self.openapi_schema:
            self.openapi_schema = document_problems(super().openapi())
        return self.openapi_schema


def app_from_environment() -> FastAPI:
    """The app for settings read from the environment (each ``rujai serve --workers`` process)."""
    from rujai.config import get_settings

    return create_app(get_settings())


@dataclass(frozen=True, slots=True)
class Storage:
    """A server process's database access: read-only request sessions and the one writer."""

    read_engine: Engine
    write_engine: Engine
    writer: Writer
    anchor: Anchor
    checkpointer: WalCheckpointer

    @classmethod
    def open(cls, settings: Settings) -> Storage:
        """Create the engines and the (not yet started) writer for ``settings``."""
        db, cfg = settings.db, settings.writer
        read_engine = make_engine(db.url, echo=db.echo, pool_size=db.pool_size, role="reader")
        write_engine = make_engine(db.url, echo=db.echo, pool_size=2, role="writer")
        anchor = Anchor.from_settings(settings.audit)
        writes = make_session_factory(write_engine)
        erasure_log.attach(writes, ErasureLog(settings.rights.erasure_log_file))  # before deletes
        writer = Writer(
            writes,
            max_batch=cfg.max_batch,
            max_queue=cfg.max_queue,
            idle=lambda session: anchor.tick(session, utcnow()),  # signs a checkpoint now and then
            idle_every_s=cfg.idle_every_s,
        )
        return cls(read_engine, write_engine, writer, anchor, WalCheckpointer(write_engine))

    def attach(self, state: State) -> None:
        """Give an app (its ``state``) the request session factory, the writer and the anchor."""
        state.engine = self.read_engine
        factory = make_session_factory(self.read_engine)
        self.anchor.attach(factory)  # receipts issued on request sessions carry the signed head
        state.session_factory = factory
        state.writer = self.writer
        state.anchor = self.anchor

    def start(self) -> None:
        """Start the writer; sign the head as found (a checkpoint at every start)."""
        self._checkpoint()
        self.writer.start()
        self.checkpointer.start()
        gc_settle()

    def close(self) -> None:
        """Finish queued writes, stop the writer, sign the final head, close every connection."""
        self.writer.stop()
        self._checkpoint()
        self.checkpointer.stop()
        self.read_engine.dispose()
        self.write_engine.dispose()

    def _checkpoint(self) -> None:
        with session_scope(make_session_factory(self.write_engine)) as session:
            self.anchor.tick(session, utcnow(), force=True)


GC_THRESHOLDS = (50_000, 20, 100)


def gc_settle() -> None:
    """Keep the cyclic garbage collector out of the request path's tail.

    Measured (bench/decide.py, gc callbacks): while the serving caches filled, a full (generation
    2) collection walked every cached object every few seconds and paused the whole process for
    150-270 ms, which was decide's p99. What exists at start (the model, the catalogue, imported
    code) is frozen out of the collector's walks (``gc.freeze``; still freed by reference counting
    when dropped), and the generation-0 threshold is raised so that full collections come about
    70 times less often. Garbage without cycles, nearly all of it, never waits for the collector.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _include_routers(app: FastAPI) -> None:
    from rujai.audit.router import router as audit_router
    from rujai.catalog.router import router as catalog_router
    from rujai.consent.router import router as consent_router
    from rujai.disclosures.router import router as disclosures_router
    from rujai.disclosures.router_outbox import router as processor_notices_router
    from rujai.events.router import router as events_router
    from rujai.incidents.router import router as incidents_router
    from rujai.personalize import offers_router
    from rujai.personalize.router import router as personalize_router
    from rujai.policy.router import router as policy_router
    from rujai.profiles.router import router as profiles_router
    from rujai.rights.router import router as rights_router

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(policy_router, prefix="/v1")
    app.include_router(consent_router, prefix="/v1")
    app.include_router(audit_router, prefix="/v1")
    app.include_router(events_router, prefix="/v1")
    app.include_router(profiles_router, prefix="/v1")
    app.include_router(catalog_router, prefix="/v1")
    app.include_router(personalize_router, prefix="/v1")
    app.include_router(offers_router.router, prefix="/v1")
    app.include_router(rights_router, prefix="/v1")
    app.include_router(processor_notices_router, prefix="/v1")
    app.include_router(disclosures_router, prefix="/v1")
    app.include_router(incidents_router, prefix="/v1")


class BodyLimit:
    """Reject request bodies over ``max_bytes`` with 413, by header and while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                # FastAPI re-raises HTTPException from body parsing; the handler renders 413.
                raise HTTPException(413, f"request body exceeds {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(f"request body exceeds {self.max_bytes} bytes", field="body")
        await problem_response(error.status, error.problem())(scope, receive, send)
