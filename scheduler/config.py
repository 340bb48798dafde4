"""`config/scheduler.yaml`: job times, batch sizes, follow-up policy, retry policy and provider rate limits."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from accord.config_files import load_model
from core.enums import Channel
from core.retry import Backoff


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobTiming(_Strict):
    cron: str | None = None
    every_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_trigger(self) -> JobTiming:
        if (self.cron is None) == (self.every_seconds is None):
            raise ValueError("give exactly one of cron or every_seconds")
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError(f"cron {self.cron!r} needs five fields: minute hour day month day_of_week")
        return self


class Jobs(_Strict):
    staging: JobTiming
    sweep: JobTiming
    followups: JobTiming
    dispatch: JobTiming
    reconcile: JobTiming
    misfire_grace_s: int = Field(ge=1)


class StagingPolicy(_Strict):
    batch_size: int = Field(ge=1, le=100_000)
    thank_on_current: bool = True
    final_stage_escalation_priority: int = 50


class Window(_Strict):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class SweepPolicy(_Strict):
    batch_size: int = Field(ge=1, le=100_000)
    send_window: Window
    min_gap_days_after_stage_change: int = Field(ge=0)
    priority: int = 100
    consent_required: list[Channel]
    followup_channels: list[Channel] = Field(min_length=1)


class FollowUpPolicy(_Strict):
    promise_reminder_days_before: int = Field(ge=0)
    promise_grace_days: int = Field(ge=0)
    broken_promise_next_step: Literal["resume_reminders", "escalate"]
    installment_reminder_days_before: int = Field(ge=0)
    installment_grace_days: int = Field(ge=0)
    plan_breaks_after_missed: int = Field(ge=1)
    escalation_priority: int = 60


class BackoffModel(_Strict):
    base_s: float = Field(gt=0)
    factor: float = Field(ge=1)
    max_s: float = Field(gt=0)
    jitter: float = Field(ge=0, lt=1)

    def policy(self) -> Backoff:
        return Backoff(self.base_s, self.factor, self.max_s, self.jitter)


class DispatchPolicy(_Strict):
    claim_batch: int = Field(ge=1, le=10_000)
    claim_seconds: float = Field(gt=0)
    lease_timeout_s: float = Field(gt=0)
    idle_sleep_s: float = Field(ge=0)
    wake_deferred_every_s: float = Field(ge=0)
    reconcile_every_s: float = Field(ge=0)
    max_attempts: int = Field(ge=1)
    backoff: BackoffModel


class ProviderLimits(_Strict):
    per_sender_per_s: float | None = Field(default=None, gt=0)
    sender_burst: float | None = Field(default=None, ge=1)
    per_recipient_per_s: float | None = Field(default=None, gt=0)


class SchedulerConfig(_Strict):
    version: str
    jobs: Jobs
    staging: StagingPolicy
    sweep: SweepPolicy
    followups: FollowUpPolicy
    dispatch: DispatchPolicy
    rate_limits: dict[str, ProviderLimits]

    def limits_for(self, provider: str) -> ProviderLimits:
        return self.rate_limits.get(provider, ProviderLimits())


def load_scheduler_config(config_dir: Path) -> SchedulerConfig:
    return load_model(config_dir / "scheduler.yaml", SchedulerConfig)
