import pytest
from pydantic import ValidationError

from app.config import Settings


def test_settings_refuse_a_short_secret_key() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment="production", secret_key="short")


def test_settings_start_with_a_real_secret_key() -> None:
    settings = Settings(environment="production", secret_key="x" * 48)
    assert settings.environment == "production"


def test_settings_hold_no_key_unless_one_is_given() -> None:
    assert Settings(_env_file=None).secret_key == ""  # type: ignore[call-arg]


def test_database_url_read_from_plain_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    assert Settings().database_url == "postgresql://postgres@127.0.0.1:5432/test"
