"""Settings, read from the environment with the prefix ``RUJAI_`` (nested groups use ``__``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseModel):
    url: str = Field(
        "sqlite:///./var/rujai.db",
        description="SQLAlchemy URL; production uses postgresql+psycopg://user@host/db.",
    )
    echo: bool = Field(False, description="Log every SQL statement (never in production).")
    pool_size: int = Field(10, description="Connections kept open per process (PostgreSQL).")


class SecuritySettings(BaseModel):
    master_key: SecretStr | None = Field(
        None, description="Base64 32-byte master key or a key set; wins over master_key_file."
    )
    master_key_file: Path = Field(
        Path("./var/master.key"),
        description="File with the base64 master key or a key set (mode 0600).",
    )


class WriterSettings(BaseModel):
    max_batch: int = Field(
        256, ge=1, le=10_000, description="Most units one group commit takes (one transaction)."
    )
    max_queue: int = Field(
        4096, ge=1, description="Units that may wait for the writer; more get 503 Retry-After."
    )
    idle_every_s: float = Field(
        0.2, gt=0, le=60, description="Idle time after which the writer runs its idle work."
    )


class AuditSettings(BaseModel):
    signing_key_file: Path = Field(
        Path("./var/audit-signing.key"),
        description="Ed25519 key (PEM, mode 0600) that signs audit checkpoints; created on first "
        "use. Keep it off the database host.",
    )
    checkpoint_file: Path = Field(
        Path("./var/audit-checkpoints.jsonl"),
        description="Append-only JSON-lines log of signed audit heads, outside the database.",
    )
    checkpoint_every_s: float = Field(
        1.0, ge=0, description="Least seconds between checkpoints (written only if the log grew)."
    )


class PolicySettings(BaseModel):
    path: Path = Field(Path("examples/policy.yaml"), description="The privacy policy YAML file.")


class ApiSettings(BaseModel):
    max_body_bytes: int = Field(1_048_576, description="Larger request bodies get 413.")
    max_batch_events: int = Field(1_000, description="Most events one /v1/batch call may carry.")


class PersonalizeSettings(BaseModel):
    holdout_share: float = Field(
        0.05,
        ge=0.0,
        le=0.5,
        description="Share of subjects always shown the non-personalized default.",
    )
    holdout_salt: str = Field(
        "rujai-holdout-v1", description="Salt of the persistent holdout hash."
    )
    max_items: int = Field(50, ge=1, le=200, description="Most items one decision may return.")


class RightsSettings(BaseModel):
    code_ttl_minutes: int = Field(15, ge=1, le=120, description="Lifetime of a one-time code.")
    retention_interval_hours: float = Field(
        24, ge=0, description="How often the server runs retention; 0 turns the schedule off."
    )
    outbox_retention_days: int = Field(90, ge=1, description="Days outbox messages are kept.")
    erasure_log_file: Path = Field(
        Path("./var/erasure-log.jsonl"),
        description="Append-only log of erasures, outside the database and its backups.",
    )
    processor_ack_days: int = Field(
        14, ge=1, le=365, description="Days a processor has to acknowledge a notice (overdue)."
    )
    processor_deliver_interval_s: float = Field(
        60, ge=0, description="How often the server delivers processor notices; 0 turns it off."
    )
    processor_timeout_s: float = Field(10, gt=0, le=120, description="Webhook timeout.")


class WebSettings(BaseModel):
    cookie_secure: bool = Field(
        False, description="Mark cookies Secure (set True behind HTTPS; the demo runs on http)."
    )
    session_ttl_minutes: int = Field(
        30, ge=1, le=1440, description="A sign-in ends after this many minutes without a request."
    )
    session_max_hours: int = Field(
        8,
        ge=1,
        le=168,
        description="A sign-in ends this many hours after it began, however active.",
    )
    demo_hints: bool = Field(True, description="Show demo hints (where to read one-time codes).")
    preview_test_profiles: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Test profiles' customer ids: the only "
        "customers a marketer may preview (others need a stated, audited reason and lookup role).",
    )


class PrivacySettings(BaseModel):
    min_aggregate_count: int = Field(
        5,
        ge=1,
        le=1000,
        description="Aggregate counts below this (k) are withheld so none singles out a person; 1 "
        "shows every count.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RUJAI_", env_nested_delimiter="__", extra="forbid"
    )

    db: DatabaseSettings = Field(default_factory=DatabaseSettings, description="Database.")
    security: SecuritySettings = Field(default_factory=SecuritySettings, description="Keys.")
    audit: AuditSettings = Field(default_factory=AuditSettings, description="Audit anchors.")
    policy: PolicySettings = Field(default_factory=PolicySettings, description="Policy file.")
    writer: WriterSettings = Field(
        default_factory=WriterSettings, description="The write path (group commit)."
    )
    api: ApiSettings = Field(default_factory=ApiSettings, description="HTTP API limits.")
    web: WebSettings = Field(default_factory=WebSettings, description="Privacy center, console.")
    rights: RightsSettings = Field(default_factory=RightsSettings, description="Requests.")
    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings, description="Aggregates (small-count suppression)."
    )
    personalize: PersonalizeSettings = Field(
        default_factory=PersonalizeSettings, description="Decisions."
    )
    database_url: str | None = Field(
        None, description="Shortcut for db.url (RUJAI_DATABASE_URL); wins when set."
    )
    host: str = Field("127.0.0.1", description="Address the server binds to.")
    port: int = Field(8000, description="Port the server listens on.")
    run_migrations_on_start: bool = Field(
        True, description="Apply pending Alembic migrations when the server starts."
    )

    @model_validator(mode="after")
    def _apply_database_url(self) -> Settings:
        if self.database_url:
            self.db.url = self.database_url
        return self


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings read from the environment."""
    return Settings()
