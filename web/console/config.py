"""`config/console.yaml`: queue urgency and SLAs, login throttling, page sizes and plan limits per role."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from accord.config_files import load_model


class ThrottleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_failures: int = Field(ge=1)
    window_minutes: int = Field(ge=1)
    lockout_minutes: int = Field(ge=1)


class PlanLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_term_months: int = Field(ge=1)
    max_settlement_discount_bp: int = Field(ge=0, le=10000)
    may_waive_fees: bool
    may_waive_interest: bool


class ConsoleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    urgency: list[str]
    sla_minutes: dict[str, int]
    poll_seconds: int = Field(ge=1, le=60)
    session_hours: int = Field(ge=1, le=168)
    login_throttle: ThrottleModel
    search_page_size: int = Field(ge=10, le=500)
    dashboard_default_days: int = Field(ge=1, le=366)
    plan_limits: dict[str, PlanLimits]

    @model_validator(mode="after")
    def _complete(self) -> ConsoleConfig:
        if "default" not in self.sla_minutes:
            raise ValueError("sla_minutes needs a `default` entry for reasons not listed")
        missing = {"officer", "supervisor"} - set(self.plan_limits)
        if missing:
            raise ValueError(f"plan_limits needs entries for {sorted(missing)}")
        return self

    def sla_for(self, reason: str) -> int:
        return self.sla_minutes.get(reason, self.sla_minutes["default"])

    def urgency_rank(self, reason: str) -> int:
        return self.urgency.index(reason) if reason in self.urgency else len(self.urgency)


def load_console_config(config_dir: Path) -> ConsoleConfig:
    return load_model(config_dir / "console.yaml", ConsoleConfig)
