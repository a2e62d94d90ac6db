"""One settings object for the whole service, read from ``SHIPMENTS_*`` variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of one service process; passed to ``create_app`` explicitly."""

    model_config = SettingsConfigDict(env_prefix="SHIPMENTS_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./shipments.db",
        description="sqlite:///path.db or postgresql://user[:password]@host:port/db[?schema=name]",
    )
    create_tables: bool = Field(
        default=True, description="Create missing tables at start (idempotent)."
    )
    snapshot_interval: int = Field(
        default=100, ge=1, description="Take a snapshot of a shipment every N versions."
    )
    recent_states_size: int = Field(
        default=10_000,
        ge=0,
        # The name it had before it said what it sizes is still read.
        validation_alias=AliasChoices(
            "recent_states_size", "SHIPMENTS_RECENT_STATES_SIZE", "SHIPMENTS_AGGREGATE_CACHE_SIZE"
        ),
        description="Shipment states (with their events) this process keeps after writing "
        "them, for the next write and for stale writes' answers (0: off); the stored row "
        "always decides which version is current.",
    )
    pool_size: int = Field(default=10, ge=1, description="Store connections kept open per process.")
    pool_max_overflow: int = Field(default=10, ge=0)
    store_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Longest a request waits to reach the store or a lock before a 503.",
    )
    group_commit: bool = Field(
        default=True,
        description="Decide and append concurrent writes in shared transactions (one lock, "
        "one flush); false: one write per transaction.",
    )
    group_commit_max_batch: int = Field(default=64, ge=1, le=1000)
    commits_in_flight: int = Field(
        default=2,
        ge=1,
        le=16,
        description="PostgreSQL: batches of writes decided and committed at once, each on "
        "its own connection (SQLite has one writer: always 1).",
    )
    projection_runner: bool = Field(
        default=True,
        description="Run the projection runner in each server process (one per view is "
        "active across all processes and hosts; the others stand by).",
    )
    projection_batch_size: int = Field(
        default=500, ge=1, description="Most events a runner applies in one transaction."
    )
    projection_standby_retry_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often a standby runner tries to take over (and a failed one restarts).",
    )
    projection_state_cache_size: int = Field(
        default=10_000,
        ge=1,
        description="Shipment states a runner or rebuild keeps in memory to fold events.",
    )
    readiness_max_projection_lag_seconds: float = Field(
        default=30.0,
        ge=0,
        description="/readyz answers 503 while the oldest event a view has not processed "
        "is older than this.",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1)
    idempotency_ttl_hours: int = Field(
        default=24, ge=1, description="How long an Idempotency-Key's answer is kept."
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="Request logs on stderr: JSON lines, or text for humans."
    )
    log_level: str = "info"
    tokens_file: Path | None = Field(
        default=None,
        description="Keep API token hashes in this JSON file instead of the database.",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="The key that wraps every shipment's personal-data key: 32 random bytes, "
        "base64 (``shipments master-key`` prints a new one). Takes precedence over the file.",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="A file holding the master key (base64). Unset, with no master key either: "
        "a SQLite store keeps a generated one beside its file (``serve`` allows that on "
        "loopback only); PostgreSQL needs one.",
    )
    require_auth: bool = Field(
        default=False,
        description="Refuse requests without a valid token even when no token is configured "
        "(``serve`` sets it whenever tokens exist, so revoking the last one never opens up).",
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a server trusts its copy of the token list (and so how long a "
        "revoked token may still be accepted).",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="Accept JWT access tokens (RFC 9068) whose `iss` is exactly this; its keys "
        "are found through <issuer>/.well-known/openid-configuration. Unset: static tokens only.",
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        description="The provider's key set (JWKS) URL, when it is not to be discovered.",
    )
    oidc_audience: str | None = Field(
        default=None, description="The `aud` an access token must carry (required with an issuer)."
    )
    oidc_roles_claim: str = Field(
        default="roles",
        description="The claim holding the caller's roles: a list or a space-separated string; "
        "a dotted path (realm_access.roles) reaches into objects.",
    )
    oidc_actor_claim: str = Field(
        default="sub", description="The claim recorded as the `actor` of the events a token causes."
    )
    oidc_client_id: str | None = Field(
        default=None,
        description="The console's public client id at the provider: with it, the console "
        "offers to sign in there (authorization code flow with PKCE).",
    )
    oidc_console_scope: str = Field(
        default="openid",
        description="The scope the console asks the provider for (space-separated; some "
        "providers issue an access token for this API only for a scope of its own).",
    )
    oidc_token_cache_size: int = Field(
        default=10_000,
        ge=1,
        description="Verified access tokens remembered until they expire, so a request pays "
        "at most one signature check.",
    )
    oidc_keys_max_age_seconds: float = Field(
        default=300.0,
        gt=0,
        description="After this long the provider's key set is read again in the background "
        "(a key that left it stops being trusted).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Browser origins allowed to call the API (CORS), comma-separated or a "
        'JSON list, e.g. "https://app.example.com,https://admin.example.com"; "*" for any. '
        "Empty (the default): no CORS headers at all.",
    )

    webhook_allow_private: bool = Field(
        default=False,
        description="Let subscriptions deliver to loopback, private and link-local addresses "
        "(refused by default: the service must not be a way into its own network).",
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a receiver has to answer a delivery."
    )
    webhook_retry_schedule: str = Field(
        default="5,300,1800,7200,18000,36000,36000",
        pattern=r"^\s*\d+(\.\d+)?\s*(,\s*\d+(\.\d+)?\s*)*$",
        description="Seconds to wait after each failed delivery, comma-separated; when they "
        "are spent the subscription is disabled.",
    )
    webhook_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a process keeps the right to deliver a subscription without "
        "renewing it (a crashed process's subscriptions move on after this).",
    )
    deliverer: bool = Field(
        default=True,
        description="Deliver subscriptions from this server (each subscription is "
        "delivered by one process at a time); false leaves them to `shipments deliver`.",
    )
    delivery_metrics_address: str | None = Field(
        default=None,
        pattern=r"^[^\s:]+:\d{1,5}$",
        description="`host:port` where a `shipments deliver` process (the one `shipments "
        "serve` starts, too) serves its delivery metrics for Prometheus; unset: none.",
    )
    delivery_process: bool = Field(
        default=True,
        description="`shipments serve` delivers from one child process of its own (a "
        "`shipments deliver` at a lower CPU priority) rather than from a thread in each "
        "worker, whose requests it would slow.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object) -> object:
        """Accept "a,b" and '["a","b"]' from the environment, as well as a list."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [origin.strip().rstrip("/") for origin in text.split(",") if origin.strip()]

    @model_validator(mode="after")
    def _issuer_needs_an_audience(self) -> Settings:
        """An access token for any audience would be accepted without one (RFC 9068 §4)."""
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("SHIPMENTS_OIDC_AUDIENCE is required with SHIPMENTS_OIDC_ISSUER")
        if self.oidc_jwks_url and not self.oidc_issuer:
            raise ValueError("SHIPMENTS_OIDC_JWKS_URL needs SHIPMENTS_OIDC_ISSUER (the iss)")
        return self
