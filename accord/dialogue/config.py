"""`config/negotiation.yaml` and `config/dialogue.yaml`: the bot's negotiating limits and its own limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from accord.config_files import load_model
from accord.dialogue.clarify import ClarifyModel
from core.enums import Stage
from core.money import to_minor
from core.negotiation import BP, NegotiationPolicy, StageLimits


class StageLimitsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_term_months: int = Field(ge=1, le=120)
    down_payment_bp: int = Field(default=0, ge=0, lt=BP)
    fee_waiver: bool = False
    interest_waiver: bool = False
    settlement_discount_cap_bp: int = Field(default=0, ge=0, lt=BP)


class NegotiationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    stages: dict[Stage, StageLimitsModel]
    min_monthly: dict[str, str]
    waiver_reasons: list[str] = []
    officer_balance: dict[str, str] = {}
    promise_max_days: int = Field(default=30, ge=1)
    first_payment_days: int = Field(default=7, ge=0, le=60)

    @model_validator(mode="after")
    def _settlement_only_at_90_plus(self) -> NegotiationFile:
        for stage, limits in self.stages.items():
            if limits.settlement_discount_cap_bp and stage != Stage.DPD_90_PLUS:
                raise ValueError(f"stages.{stage}: a settlement discount is only allowed at dpd_90_plus")
        for currency, amount in {**self.min_monthly, **self.officer_balance}.items():
            to_minor(amount, currency)  # raises MoneyError naming the bad code or amount
        return self

    def policy(self) -> NegotiationPolicy:
        return NegotiationPolicy(
            stages={str(stage): StageLimits(**limits.model_dump()) for stage, limits in self.stages.items()},
            min_monthly_minor={c: to_minor(a, c) for c, a in self.min_monthly.items()},
            waiver_reasons=frozenset(self.waiver_reasons),
            officer_balance_minor={c: to_minor(a, c) for c, a in self.officer_balance.items()},
        )


class VerificationModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_attempts: int = Field(ge=1, le=10)


class FallbackModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_in_a_row: int = Field(ge=1, le=10)


class DialogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    verification: VerificationModel
    fallback: FallbackModel
    clarify: ClarifyModel = ClarifyModel()  # when the bot asks before acting on an unsure reading


def load_negotiation(config_dir: Path) -> NegotiationFile:
    return load_model(config_dir / "negotiation.yaml", NegotiationFile)


def load_dialogue(config_dir: Path) -> DialogueFile:
    return load_model(config_dir / "dialogue.yaml", DialogueFile)
