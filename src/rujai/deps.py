"""Request-scoped dependencies shared by every router: session, policy, keys and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from rujai.config import Settings
from rujai.db import SessionDep
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.writer import Writer


async def get_policy(request: Request) -> Policy:
    """Return the policy the server was started with."""
    policy: Policy = request.app.state.policy
    return policy


async def get_keyring(request: Request) -> Keyring:
    """Return the keyring derived from the master key."""
    keyring: Keyring = request.app.state.keyring
    return keyring


async def get_app_settings(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    """Return the session factory, for work that needs its own short transaction."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


async def get_writer(request: Request) -> Writer:
    """Return the process's writer: hand it write units and await their commit."""
    writer: Writer = request.app.state.writer
    return writer


PolicyDep = Annotated[Policy, Depends(get_policy)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
WriterDep = Annotated[Writer, Depends(get_writer)]

__all__ = [
    "KeyringDep",
    "PolicyDep",
    "SessionDep",
    "SessionFactoryDep",
    "SettingsDep",
    "WriterDep",
]
