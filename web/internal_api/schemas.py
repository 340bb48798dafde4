"""Request and response bodies of the internal API (Rasa actions -> Accord)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from accord.dialogue.clarify import ClarifyIntent
from accord.dialogue.party import TurnOutcome

SlotName = Literal["card_last4", "birth_year", "hardship_reason", "affordable_amount", "promise_date",
                   "promise_amount"]
HandoffReason = Literal["ask_human", "attorney", "bankruptcy", "complaint", "distress", "dispute", "already_paid",
                        "wrong_number", "third_party", "opt_out", "cease"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reply(Strict):
    template_id: str
    params: dict[str, Any] = {}


class StepResult(Strict):
    """What an action does next: say these templates, mirror these slots, pause the bot or not."""

    replies: list[Reply] = []
    slots: dict[str, Any] = {}
    pause: bool = False
    data: dict[str, Any] = {}

    @classmethod
    def of(cls, outcome: TurnOutcome) -> StepResult:
        return cls(replies=[Reply(**r) for r in outcome.replies], slots=outcome.slots, pause=outcome.pause,
                   data=outcome.data)


class Context(Strict):
    conversation_id: int
    language: str
    state: str
    verified: bool
    verification_locked: bool
    third_party: bool
    channel: str
    # Only when verified: the account's stage. Nothing else about the debt leaves before verification.
    stage: str | None = None


class ParseIn(Strict):
    slot: SlotName
    text: str = Field(max_length=2000)


class VerifyAskIn(Strict):
    # The intent that started verification: "confirm_identity" from a third party goes to an officer.
    intent: str | None = Field(default=None, max_length=64)


class VerifyIn(Strict):
    card_last4: str = Field(max_length=200)
    birth_year: str = Field(max_length=200)


class HardshipIn(Strict):
    hardship_type: str | None = Field(default=None, max_length=64)
    hardship_types: list[str] = Field(default=[], max_length=20)  # every span the NLU marked, in order
    reason: str | None = Field(default=None, max_length=2000)
    affordable: str | None = Field(default=None, max_length=2000)  # the cardholder's words, read here
    affordable_minor: int | None = Field(default=None, ge=0)  # or an amount already read (form slot)


class TextIn(Strict):
    text: str = Field(default="", max_length=2000)


class PromiseIn(Strict):
    date: str = Field(max_length=32)
    amount: str = Field(max_length=32)


class HandoffIn(Strict):
    reason: HandoffReason
    text: str = Field(default="", max_length=2000)


class RankedIntent(Strict):
    name: str = Field(max_length=64)
    confidence: float = Field(ge=0, le=1)


class FallbackIn(Strict):
    in_a_row: int = Field(ge=1, le=100)
    # The model's top intents for the misunderstood message: a weak distress reading still goes to a person.
    ranking: list[RankedIntent] = Field(default=[], max_length=10)


class ClarifyIn(Strict):
    """A message read as an intent that leaves the bot: act on it, ask first, or treat it as distress."""

    intent: ClarifyIntent
    confidence: float = Field(ge=0, le=1)
    ranking: list[RankedIntent] = Field(default=[], max_length=10)
