"""Settings, read from environment variables (and an optional .env file)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"


class Settings(BaseSettings):
    """Every setting is an environment variable named OPENSPACE_<NAME> (DATABASE_URL also works)."""

    model_config = SettingsConfigDict(env_prefix="OPENSPACE_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'data' / 'openspace.db'}",
        validation_alias=AliasChoices("OPENSPACE_DATABASE_URL", "DATABASE_URL"),
    )
    secret_key: str = DEFAULT_SECRET_KEY
    base_url: str = "http://127.0.0.1:8000"
    sqlite_busy_timeout_ms: int = 15_000
    db_pool_size: int = 10
    db_pool_overflow: int = 20
    cookie_secure: bool | None = None
    session_max_age_days: int = 120
    log_level: str = "info"
    # Multiplies the participants' rate limits (app/web/limits.py); 0 turns them off.
    rate_limit_scale: float = 1.0

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError(
                "OPENSPACE_SECRET_KEY must be set to a long random value in production "
                '(for example: python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("OPENSPACE_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
