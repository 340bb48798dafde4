"""One typed settings object, read from the environment and `.env`.

Names are the ones operators expect (DATABASE_URL, TWILIO_AUTH_TOKEN, ...). Secrets are SecretStr so they never
print; production refuses placeholders.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = "change-me"


class SettingsError(ValueError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    accord_env: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default_factory=lambda: f"sqlite:///{PROJECT_ROOT / 'var' / 'accord.db'}")
    accord_config_dir: Path = PROJECT_ROOT / "config"
    accord_secret_key: SecretStr = SecretStr(PLACEHOLDER)  # console sessions and CSRF
    accord_internal_api_token: SecretStr = SecretStr(PLACEHOLDER)  # Rasa actions -> Accord
    accord_public_url: str = "http://127.0.0.1:8000"
    accord_host: str = "127.0.0.1"
    accord_port: int = 8000
    accord_log_json: bool | None = None  # default: JSON in production, console lines otherwise
    accord_log_level: str = "INFO"
    accord_worker_id: str | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base: str | None = None  # loopback fake in tests; the SDK's default otherwise

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_bot_username: str | None = None
    telegram_api_base: str | None = None  # PTB base_url; loopback fake in tests
    telegram_polling: bool = False

    rasa_url: str | None = None
    rasa_token: SecretStr | None = None

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.accord_env != "production":
            return self
        problems = []
        for name in ("accord_secret_key", "accord_internal_api_token"):
            value = getattr(self, name).get_secret_value()
            if value == PLACEHOLDER or len(value) < 32:
                problems.append(f"{name.upper()} must be set to a random value of at least 32 characters")
        if self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must point at PostgreSQL in production")
        for name in ("twilio_auth_token", "telegram_bot_token", "telegram_webhook_secret", "rasa_token"):
            secret = getattr(self, name)
            if secret is not None and secret.get_secret_value() in ("", PLACEHOLDER):
                problems.append(f"{name.upper()} is a placeholder")
        if problems:
            raise SettingsError("production settings refused: " + "; ".join(problems))
        return self

    @property
    def log_json(self) -> bool:
        return self.accord_log_json if self.accord_log_json is not None else self.accord_env == "production"

    @cached_property
    def twilio_configured(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_messaging_service_sid or self.twilio_from_number)
        )

    @cached_property
    def telegram_configured(self) -> bool:
        return bool(self.telegram_bot_token)

    def describe(self) -> dict[str, str]:
        """What is safe to print: no secret values, and the database password masked."""
        from sqlalchemy.engine import make_url

        return {
            "env": self.accord_env,
            "database": make_url(self.database_url).render_as_string(hide_password=True),
            "config_dir": str(self.accord_config_dir),
            "public_url": self.accord_public_url,
            "sms": "twilio" if self.twilio_configured else "sandbox",
            "telegram": "telegram" if self.telegram_configured else "sandbox",
        }


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
