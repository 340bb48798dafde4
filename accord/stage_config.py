"""`config/stages.yaml`: delinquency stages, their tone, cadence and channels."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from accord.config_files import ConfigError, load_model
from core.enums import Channel, Stage, Tone
from core.staging import StageRule


class CadenceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    every_days: int = Field(ge=1, description="at most one reminder per this many days")
    max_touches: int | None = Field(default=None, ge=1)


class StageModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: Stage
    label: dict[str, str]
    min_dpd: int
    max_dpd: int | None = None
    tone: Tone
    cadence: CadenceModel
    channels: list[Channel] = Field(min_length=1)
    escalate_to_officer: bool = False

    @model_validator(mode="after")
    def _band(self) -> StageModel:
        if self.max_dpd is not None and self.max_dpd < self.min_dpd:
            raise ValueError(f"max_dpd {self.max_dpd} is below min_dpd {self.min_dpd}")
        if set(self.label) != {"zh", "en"}:
            raise ValueError("label needs exactly the languages zh and en")
        return self


class StagesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    stages: list[StageModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> StagesFile:
        ordered = sorted(self.stages, key=lambda s: s.min_dpd)
        for left, right in zip(ordered, ordered[1:], strict=False):
            if left.max_dpd is None:
                raise ValueError(f"stage {left.stage} has no max_dpd but {right.stage} follows it")
            if right.min_dpd != left.max_dpd + 1:
                raise ValueError(
                    f"stages {left.stage} and {right.stage} leave a gap or overlap "
                    f"(max_dpd {left.max_dpd}, next min_dpd {right.min_dpd})"
                )
        if ordered[-1].max_dpd is not None:
            raise ValueError(f"the last stage {ordered[-1].stage} must be open-ended (no max_dpd)")
        return self

    def rules(self) -> tuple[StageRule, ...]:
        return tuple(
            StageRule(
                stage=s.stage,
                tone=s.tone,
                min_dpd=s.min_dpd,
                max_dpd=s.max_dpd,
                every_days=s.cadence.every_days,
                max_touches=s.cadence.max_touches,
                channels=tuple(s.channels),
                escalate_to_officer=s.escalate_to_officer,
            )
            for s in sorted(self.stages, key=lambda s: s.min_dpd)
        )

    def label(self, stage: str, language: str) -> str:
        for s in self.stages:
            if s.stage == stage:
                return s.label[language]
        return stage


def load_stages(config_dir: Path) -> StagesFile:
    path = config_dir / "stages.yaml"
    stages = load_model(path, StagesFile)
    if not stages.rules():
        raise ConfigError(f"{path}: stages: no stage defined")
    return stages
