"""Settings, read from environment variables (and an optional .env file)."""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting is an environment variable named OPENSPACE_<NAME> (DATABASE_URL also works)."""

    model_config = SettingsConfigDict(env_prefix="OPENSPACE_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'data' / 'openspace.db'}",
        validation_alias=AliasChoices("OPENSPACE_DATABASE_URL", "DATABASE_URL"),
    )
    # Empty: the installation makes its own at first start and keeps it with the data
    # (app/keys.py). Never a value written in the source.
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    sqlite_busy_timeout_ms: int = 15_000
    # Through a connection pooler such as PgBouncer in transaction mode: DATABASE_URL points
    # at the pooler and this at PostgreSQL itself, for what needs a session of its own (the
    # live updates' LISTEN, backups, migrations).
    database_direct_url: str = ""
    # The most each process's pool opens, if PostgreSQL has room for it (app/budget.py).
    db_pool_size: int = 10
    db_pool_overflow: int = 20
    # A request that finds every connection taken waits this long, then answers 503.
    db_pool_timeout_seconds: float = Field(default=10, gt=0)
    # Server processes sharing PostgreSQL's connections: each host's workers (set by
    # `openspace serve --workers`) times the hosts.
    workers: int = Field(default=1, ge=1)
    hosts: int = Field(default=1, ge=1)
    cookie_secure: bool | None = None
    session_max_age_days: int = 120
    # An organiser's sign-in ends after this long without a request.
    organiser_idle_hours: float = 12
    log_level: str = "info"
    # Multiplies the participants' rate limits (app/web/kit/limits.py); 0 turns them off.
    rate_limit_scale: float = 1.0
    # Where the rate limits count (app/rates.py), redis://host:6379/0; empty: in PostgreSQL
    # on PostgreSQL, in each process's memory on SQLite.
    redis_url: str = ""
    # The most a request may send (a form, an API call's JSON); more is refused with 413
    # before it is read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    # A client has this long to send a request's headers, and may keep an idle connection
    # open this long between requests (`openspace serve`).
    header_timeout_seconds: float = Field(default=10, gt=0)
    keep_alive_seconds: int = Field(default=5, ge=1)
    # Addresses or networks of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed, comma-separated ("127.0.0.1", "10.0.0.0/8"); none
    # unless set, so that no client can say it is someone else.
    trusted_proxies: str = ""
    # Where mail goes: smtp://user:pass@host:587 (STARTTLS; plain only to this machine) or
    # smtps://user:pass@host:465 (TLS). Empty: messages wait in the outbox.
    smtp_url: str = ""
    # The From of every message: an address on a domain whose SPF/DKIM allow the server above.
    mail_from: str = "OpenSpace <openspace@localhost>"
    # How often each server process looks for mail that is due.
    mail_every_seconds: float = Field(default=10, gt=0)
    # The domain whose mail for reply+…@ reaches `openspace receive-mail`: with it, messages to
    # action owners carry a signed Reply-To there, and a reply becomes an update. Empty: off.
    reply_domain: str = Field(default="", pattern=r"^[A-Za-z0-9.-]*$", max_length=200)

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        for entry in value.split(","):
            if entry.strip():
                try:
                    ipaddress.ip_network(entry.strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"OPENSPACE_TRUSTED_PROXIES: {entry.strip()!r} is not an address or "
                        "network (such as 127.0.0.1 or 10.0.0.0/8)"
                    ) from None
        return value

    @model_validator(mode="after")
    def _refuse_a_short_secret(self) -> "Settings":
        if self.secret_key and len(self.secret_key) < 32:
            raise ValueError(
                "OPENSPACE_SECRET_KEY must be at least 32 random characters, or unset to let "
                "the installation make and keep its own "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def pooled(self) -> bool:
        """Whether DATABASE_URL is a connection pooler (a direct URL is set beside it)."""
        return bool(self.database_direct_url) and not self.is_sqlite

    @property
    def direct_url(self) -> str:
        """PostgreSQL itself: the direct URL, else the database URL."""
        return self.database_direct_url or self.database_url

    @property
    def proxies(self) -> list[str]:
        """The trusted proxies' addresses and networks."""
        return [entry.strip() for entry in self.trusted_proxies.split(",") if entry.strip()]

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
