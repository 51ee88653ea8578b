"""Service settings, read from `MECHAMENTAL_*` environment variables."""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Commercial AWS region codes; operators narrow this with ALLOWED_REGIONS.
AWS_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "sa-east-1",
)

DEV_SECRET_FILE = "secret-key"
# An origin as browsers send it: scheme, host, optional port; no path, no trailing slash.
_ORIGIN = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")


class SyncTuning(BaseSettings):
    """The sync hub's rarely touched knobs (`MECHAMENTAL_SYNC_*`); tests make time quick."""

    model_config = SettingsConfigDict(env_prefix="MECHAMENTAL_SYNC_", extra="ignore")

    # The stream's `timeout` is multiplied by this (tests: a 60 s timeout in ~1 s).
    timeout_scale: float = 1.0
    # Events of a busy workspace close together share one write per stream: the wait after
    # a write is ~3x what that write took (1,000 streams: ~40 ms), at most this long.
    batch_window_seconds: float = 0.05
    # Frames of recent events kept per workspace for replay without the database.
    ring_size: int = 256
    # How often presence deadlines are checked and process leases renewed (real seconds).
    sweep_interval_seconds: float = 0.5
    # A process that has not renewed its lease for this long is dead (Redis mode).
    process_lease_seconds: float = 10.0
    # How often each process looks for revoked API keys whose streams it must end.
    revocation_poll_seconds: float = 0.5
    # Unpublished outbox rows older than this are published by any process (Redis mode).
    orphan_after_seconds: float = 3.0
    # How often the outbox is checked for orphans.
    drain_interval_seconds: float = 1.0
    # Redis connections per process for commands (plus one for the subscription).
    redis_max_connections: int = 8
    redis_socket_timeout_seconds: float = 5.0
    # A workspace's Redis channel stays subscribed this long after its last stream here
    # ended, so that streams which reconnect do not make us leave and join each time.
    subscription_linger_seconds: float = 30.0
    # Off only in tests that simulate a process dying between commit and publish.
    publish: bool = True


class RateLimitTuning(BaseSettings):
    """Token buckets (`MECHAMENTAL_RATE_LIMIT_*`): a rate per second and a burst for each kind
    of call, per credential (an API key, or a JWT's user) and per org (see mechamental.ratelimit).

    A bucket holds `burst` calls and refills at `rate` per second. The stream and REST org
    bursts equal the default `MAX_STREAMS_PER_ORG`, so an org whose every client reconnects
    at once (a restart; each reconnect may mint a ticket first) is admitted in full.
    """

    model_config = SettingsConfigDict(env_prefix="MECHAMENTAL_RATE_LIMIT_", extra="ignore")

    rest_credential_rate: float = Field(default=10.0, gt=0)
    rest_credential_burst: int = Field(default=200, ge=1)
    rest_org_rate: float = Field(default=100.0, gt=0)
    rest_org_burst: int = Field(default=2000, ge=1)
    stream_credential_rate: float = Field(default=1.0, gt=0)
    stream_credential_burst: int = Field(default=20, ge=1)
    stream_org_rate: float = Field(default=50.0, gt=0)
    stream_org_burst: int = Field(default=2000, ge=1)
    presence_credential_rate: float = Field(default=5.0, gt=0)
    presence_credential_burst: int = Field(default=50, ge=1)
    presence_org_rate: float = Field(default=100.0, gt=0)
    presence_org_burst: int = Field(default=2000, ge=1)


class Settings(BaseSettings):
    """Everything the server, worker and CLI read from the environment."""

    model_config = SettingsConfigDict(env_prefix="MECHAMENTAL_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("./data")
    database_url: str = ""
    secret_key: str = ""
    # PostgreSQL connections this process may hold in all (split in db.split_connections).
    db_max_connections: int = Field(default=20, ge=2)
    # How long a request waits for a pooled connection (or SQLite's write lock) before 503.
    db_wait_seconds: float = Field(default=10.0, gt=0)
    # Embedded SQLite: NORMAL survives a process crash; FULL also the last commits on power loss.
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"

    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    # An identity provider's key set (RS256/ES256, keys by `kid`); see auth/jwks.py.
    jwt_jwks_url: str | None = None
    # How long fetched keys are fresh when the response has no `Cache-Control: max-age`.
    jwt_jwks_cache_seconds: float = Field(default=300.0, gt=0)
    # An unknown `kid` refetches the key set at most this often (a forged kid costs nothing).
    jwt_jwks_min_refetch_seconds: float = Field(default=60.0, ge=0)
    # A whole fetch (connect, response, body); a request waiting on it gets 401 after this.
    jwt_jwks_timeout_seconds: float = Field(default=3.0, gt=0)
    # Claim names: providers put custom claims under namespaced keys (`https://…/org_id`).
    jwt_org_claim: str = Field(default="org_id", min_length=1)
    jwt_role_claim: str = Field(default="role", min_length=1)
    jwt_user_claim: str = Field(default="sub", min_length=1)

    # Browsers on other origins (see mechamental.cors): exact origins, or "*" (no credentials).
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    cors_max_age_seconds: int = Field(default=600, ge=0, le=86400)
    # Stream tickets: how long one opens (and reopens) its stream.
    stream_ticket_seconds: int = Field(default=300, ge=10, le=86400)
    # `?access_token=` on the stream: None means on in development only (tickets replace it).
    allow_query_token: bool | None = None
    # The dashboard at /ui (same origin): None means on in development only.
    ui: bool | None = None

    default_region: str = "us-east-1"
    allowed_regions: Annotated[tuple[str, ...], NoDecode] = AWS_REGIONS

    log_level: str = "INFO"
    # Unset: console lines on a terminal, JSON otherwise (mechamental.logging.resolve_format).
    log_format: Literal["json", "console"] | None = None

    max_body_bytes: int = 64 * 1024
    # The HTTP edge (serve): slow clients and the open-file limit (see mechamental.edge).
    request_head_timeout_seconds: float = Field(default=10.0, gt=0)
    request_body_timeout_seconds: float = Field(default=30.0, gt=0)
    keepalive_timeout_seconds: int = Field(default=5, ge=1)
    # Connections the kernel queues before `serve` accepts them (capped by net.core.somaxconn).
    # uvicorn's 2,048 overflowed when 10,000 streams reconnected after a restart: the dropped
    # connects are retried by TCP after 1, 2, 4 ... s (bench/reconnect_storm.py).
    listen_backlog: int = Field(default=16384, ge=64)
    fd_reserve: int = Field(default=128, ge=0)
    idempotency_ttl_seconds: int = 24 * 3600
    # How often rows past their retention are deleted (mechamental.retention), and how long
    # finished bucket jobs and webhook deliveries are kept.
    retention_interval_seconds: float = Field(default=60.0, gt=0)
    finished_retention_seconds: int = Field(default=30 * 86400, ge=0)
    # How often API keys' last_used_at is written (one batched UPDATE), and so its precision.
    api_key_usage_flush_seconds: float = Field(default=60.0, gt=0)

    # Sync (events and presence).
    redis_url: str | None = None
    redis_prefix: str = "mm"
    heartbeat_seconds: float = 15.0
    retry_ms: int = 3000
    presence_ttl_seconds: float = 60.0
    presence_grace_seconds: float = 10.0
    event_retention_count: int = 1000
    event_retention_seconds: int = 24 * 3600
    stream_queue_limit: int = 1000
    shutdown_grace_seconds: float = 2.0
    # Rarely needed tuning, read from MECHAMENTAL_SYNC_* (see `SyncTuning`).
    sync: SyncTuning = Field(default_factory=SyncTuning)

    # Rate limits, stream caps and quotas (see mechamental.ratelimit). One switch turns the
    # token buckets and the stream caps off; the workspace quota is a business rule and
    # stays (unset: unlimited).
    rate_limits: bool = True
    rate_limit: RateLimitTuning = Field(default_factory=RateLimitTuning)
    max_streams_per_user: int = Field(default=20, ge=1)
    max_streams_per_org: int = Field(default=2000, ge=1)
    max_workspaces_per_org: int | None = Field(default=None, ge=1)

    # Buckets.
    bucket_provider: Literal["local", "s3"] = "local"
    bucket_prefix: str = "mm"
    bucket_delete_policy: Literal["delete", "retain"] = "delete"
    bucket_max_attempts: int = 8
    bucket_backoff_base_seconds: float = 1.0
    bucket_backoff_max_seconds: float = 300.0
    bucket_lease_seconds: float = 60.0
    bucket_poll_seconds: float = 1.0
    s3_endpoint_url: str | None = None
    run_worker: bool = True

    # Webhooks (see mechamental.webhooks). Private/loopback endpoints (and http) only if true.
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Attempts in flight per process (one shared pool), and per endpoint within that.
    webhook_concurrency: int = Field(default=64, ge=1)
    webhook_endpoint_concurrency: int = Field(default=8, ge=1)
    # A delivery's lease; it must outlast an attempt (the timeout) by a margin.
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)

    # Metrics (see mechamental.exposition): GET /metrics on the main port with this Bearer
    # token, and/or on a port of its own, bound to METRICS_HOST. Neither: nothing collected.
    metrics_token: str | None = Field(default=None, min_length=16)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    # A scrape's database readings (outbox, bucket jobs, presence) are reused this long.
    metrics_readings_seconds: float = Field(default=5.0, ge=0)

    @field_validator("allowed_regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, (tuple, list)):
            for origin in value:
                if origin != "*" and not _ORIGIN.fullmatch(str(origin)):
                    raise ValueError(
                        f"CORS_ORIGINS: {origin!r} is not an origin (scheme://host[:port]) or *"
                    )
            if "*" in value and len(value) > 1:
                raise ValueError("CORS_ORIGINS: * stands alone")
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.default_region not in self.allowed_regions:
            raise ValueError("DEFAULT_REGION must be one of ALLOWED_REGIONS")
        if self.jwt_jwks_url is not None:
            if self.jwt_public_key:
                raise ValueError("set JWT_JWKS_URL or JWT_PUBLIC_KEY, not both")
            if not self.jwt_jwks_url.startswith(("https://", "http://")):
                raise ValueError("JWT_JWKS_URL must be an http(s) URL")
        if self.webhook_lease_seconds < 2 * self.webhook_timeout_seconds:
            raise ValueError("WEBHOOK_LEASE_SECONDS must be at least twice WEBHOOK_TIMEOUT_SECONDS")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'mechamental.db'}"
        if self.env != "development":
            # Refuse to run outside development on a secret nobody chose.
            if len(self.secret_key) < 32:
                raise ValueError(
                    "MECHAMENTAL_SECRET_KEY must be set (32+ chars) outside development"
                )
            if self.jwt_secret is not None and len(self.jwt_secret) < 32:
                raise ValueError("MECHAMENTAL_JWT_SECRET must be 32+ chars outside development")
        return self

    @property
    def query_token_allowed(self) -> bool:
        """Whether the stream still takes `?access_token=` (on in development by default)."""
        if self.allow_query_token is None:
            return self.env == "development"
        return self.allow_query_token

    @property
    def ui_enabled(self) -> bool:
        """Whether /ui is served (development: yes unless MECHAMENTAL_UI=false)."""
        return self.env == "development" if self.ui is None else self.ui

    @property
    def is_sqlite(self) -> bool:
        """Whether state lives in an embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    def resolved_secret_key(self) -> bytes:
        """The key that signs cursors: configured, or a per-data-dir one in development."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / DEV_SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
