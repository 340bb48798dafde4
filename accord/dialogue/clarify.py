"""Asking before acting: when the NLU is unsure about a message that would take the cardholder out of the bot
(a dispute, a lawyer, an opt-out, ...), the bot asks one short yes/no question instead of acting on a guess.

Distress is the exception: a message that may be distress always goes to a person, even on a weak reading,
because a wrong "are you OK?" costs an officer a minute and a missed one can cost far more. The Rasa actions
only pass the intent, its confidence and the model's ranking; the thresholds and the decision live here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from accord.dialogue.party import TurnOutcome

# The intents that leave the bot (or stop contact) and so are confirmed first when the reading is weak.
ClarifyIntent = Literal["dispute", "attorney", "bankruptcy", "opt_out", "cease_contact", "ask_human",
                        "wrong_number", "complaint"]
CLARIFIABLE: tuple[str, ...] = get_args(ClarifyIntent)
Decision = Literal["act", "ask", "distress"]


class ClarifyModel(BaseModel):
    """`clarify:` in config/dialogue.yaml."""

    model_config = ConfigDict(extra="forbid")
    # Below its threshold an intent is asked about rather than acted on; intents not listed use `default`.
    default: float = Field(default=0.7, ge=0, le=1)
    thresholds: dict[ClarifyIntent, float] = {}
    # A distress reading at or above this anywhere in the model's top intents escalates as distress.
    distress_floor: float = Field(default=0.2, ge=0, le=1)
    # A message too unsure to read at all (nlu_fallback) whose best reading is a clarifiable intent at or above
    # this gets that intent's question rather than "please say it another way": a muddled "stop contacting me"
    # should not need saying twice.
    fallback_floor: float = Field(default=0.3, ge=0, le=1)

    def threshold(self, intent: str) -> float:
        return self.thresholds.get(intent, self.default)  # type: ignore[call-overload]  # any str may be asked


def distress_suspected(ranking: Iterable[tuple[str, float]], cfg: ClarifyModel) -> bool:
    return any(name == "distress" and confidence >= cfg.distress_floor for name, confidence in ranking)


def decide(intent: str, confidence: float, ranking: Iterable[tuple[str, float]], cfg: ClarifyModel) -> Decision:
    """What to do with a message read as `intent`: act on it, ask first, or treat it as distress.

    A confident reading is acted on. An unsure one that may be distress goes to a person as distress rather
    than get a question back; any other unsure one is asked about."""
    if intent == "distress":
        return "distress"
    if intent not in CLARIFIABLE or confidence >= cfg.threshold(intent):
        return "act"
    return "distress" if distress_suspected(ranking, cfg) else "ask"


def fallback_question(ranking: Iterable[tuple[str, float]], cfg: ClarifyModel) -> str | None:
    """For a misunderstood message: the clarifiable intent to ask about, if its best real reading is one."""
    real = [(name, confidence) for name, confidence in ranking if name not in ("nlu_fallback", "out_of_scope")]
    if real and real[0][0] in CLARIFIABLE and real[0][1] >= cfg.fallback_floor:
        return real[0][0]
    return None


def question(intent: str) -> TurnOutcome:
    """The catalog question for `intent` (config/templates/clarify.yaml); the slots tell Rasa a yes or no to it
    is pending, and for which intent."""
    return TurnOutcome(slots={"clarifying": True, "clarify_intent": intent},
                       data={"decision": "ask"}).say(f"clarify.{intent}")
