"""Accord's internal API for the Rasa action server, under /internal/v1. Each route is one dialogue step.

Routes are thin: load the conversation, call one function of `accord.dialogue`, commit, answer with template ids
and slots. The action server never reaches the database; this is its only door.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, HTTPException, Path, status
from sqlalchemy.orm import Session

from accord.dialogue import clarify, handoff, plans, promises, verification
from accord.dialogue.config import load_dialogue, load_negotiation
from accord.dialogue.party import DialogueError, Party, TurnOutcome, load_party
from accord.policy_packs import pack_of
from compliance.contract import SendRequest
from core.dialogue_sender import ForeignSender
from core.enums import Channel, EscalationReason, MessagePurpose
from core.protection import ProtectiveKind
from storage.db import transaction
from storage.installation import dialogue_senders
from web.deps import ContainerDep
from web.internal_api.auth import Authenticated
from web.internal_api.schemas import (
    ClarifyIn,
    Context,
    FallbackIn,
    HandoffIn,
    HardshipIn,
    ParseIn,
    PromiseIn,
    StepResult,
    TextIn,
    VerifyAskIn,
    VerifyIn,
)

log = structlog.get_logger("accord.internal_api")
router = APIRouter(prefix="/internal/v1/conversations/{conversation_id}", dependencies=[Authenticated],
                   tags=["internal"])

ESCALATIONS = {
    "ask_human": EscalationReason.ASK_HUMAN,
    "attorney": EscalationReason.ATTORNEY,
    "bankruptcy": EscalationReason.BANKRUPTCY,
    "complaint": EscalationReason.COMPLAINT,
}


def _conversation_id(conversation_id: Annotated[str, Path()], container: ContainerDep) -> int:
    """The path holds Rasa's sender id (core.dialogue_sender): this database's namespace and a conversation id."""
    try:
        return dialogue_senders(container).conversation_of(conversation_id)
    except ForeignSender as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc


ConversationIdDep = Annotated[int, Depends(_conversation_id)]

# The language of the turn an action runs in: Accord chose it from the cardholder's message and sent it to Rasa as
# the message's metadata; the action server passes it on in this header. The cardholder's words are read in it
# (amounts, dates, digits), so a zh-profile cardholder who writes "next Friday" is understood.
TURN_LANGUAGE_HEADER = "X-Accord-Turn-Language"
_LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class TurnRef:
    conversation_id: int
    language: str | None  # None: no (or an unknown) header; the cardholder's profile language applies


def _turn(conversation_id: ConversationIdDep,
          language: Annotated[str | None, Header(alias=TURN_LANGUAGE_HEADER)] = None) -> TurnRef:
    return TurnRef(conversation_id, language if language in _LANGUAGES else None)


TurnDep = Annotated[TurnRef, Depends(_turn)]


def _step(container: Any, turn: TurnRef, work: Callable[[Session, Party], TurnOutcome]) -> StepResult:
    try:
        with transaction(container.session_factory) as session:
            party = load_party(session, turn.conversation_id, lock=True, turn_language=turn.language)
            return StepResult.of(work(session, party))
    except DialogueError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc


def _negotiation(container: Any) -> Any:
    cfg = container.extras.get("negotiation_config")
    if cfg is None:
        cfg = container.extras["negotiation_config"] = load_negotiation(container.settings.accord_config_dir)
    return cfg


def _dialogue_cfg(container: Any) -> Any:
    cfg = container.extras.get("dialogue_config")
    if cfg is None:
        cfg = container.extras["dialogue_config"] = load_dialogue(container.settings.accord_config_dir)
    return cfg


@router.get("/context")
def context(turn: TurnDep, container: ContainerDep) -> Context:
    max_attempts = _dialogue_cfg(container).verification.max_attempts
    try:
        with container.session_factory() as session:
            party = load_party(session, turn.conversation_id, turn_language=turn.language)
            return Context(
                conversation_id=turn.conversation_id, language=party.language, state=party.conversation.state,
                verified=party.verified, third_party=party.conversation.third_party,
                verification_locked=party.conversation.verification_attempts >= max_attempts,
                channel=party.contact_point.channel,
                stage=party.account.stage if party.verified and party.account else None,
            )
    except DialogueError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc


@router.post("/parse")
def parse(turn: TurnDep, body: ParseIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, turn,
                 lambda s, p: promises.parse_slot(p, cfg, slot=body.slot, text=body.text, now=now))


@router.post("/verify/ask")
def verify_ask(turn: TurnDep, body: VerifyAskIn, container: ContainerDep) -> StepResult:
    """Before the form's first question: `data.decision` is "ask" (the question is the reply) or "refused" (this
    person said they are someone else: no verification starts, and "it's me" goes to an officer)."""
    now = container.clock.now()

    def work(session: Session, party: Party) -> TurnOutcome:
        if not handoff.is_third_party(session, party, now=now):
            return TurnOutcome(data={"decision": "ask"}).say("verify.ask_card_last4")
        if body.intent == "confirm_identity":
            outcome = handoff.identity_claimed(session, party, now=now)
            outcome.data["decision"] = "refused"
            return outcome
        return handoff.verification_refused(party)

    return _step(container, turn, work)


@router.post("/verify")
def verify(turn: TurnDep, body: VerifyIn, container: ContainerDep) -> StepResult:
    now, attempts = container.clock.now(), _dialogue_cfg(container).verification.max_attempts

    def work(session: Session, party: Party) -> TurnOutcome:
        if handoff.is_third_party(session, party, now=now):  # never verified, whatever the answers
            return handoff.verification_refused(party)
        return verification.verify(session, party, card_last4=body.card_last4, birth_year=body.birth_year,
                                   max_attempts=attempts, now=now)

    return _step(container, turn, work)


@router.post("/balance")
def balance(turn: TurnDep, container: ContainerDep) -> StepResult:
    return _step(container, turn, lambda s, p: promises.tell_balance(p))


@router.post("/hardship")
def hardship(turn: TurnDep, body: HardshipIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, turn, lambda s, p: plans.offer(
        s, p, cfg, now=now, hardship_type=plans.first_known([body.hardship_type, *body.hardship_types]),
        reason_text=body.reason,
        affordable_text=body.affordable, affordable_minor=body.affordable_minor))


@router.post("/plan/select")
def plan_select(turn: TurnDep, body: TextIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, turn, lambda s, p: plans.select_option(s, p, cfg, now=now, text=body.text))


@router.post("/plan/confirm")
def plan_confirm(turn: TurnDep, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, turn, lambda s, p: plans.confirm(s, p, cfg, now=now))


@router.post("/plan/reject")
def plan_reject(turn: TurnDep, container: ContainerDep) -> StepResult:
    now = container.clock.now()
    return _step(container, turn, lambda s, p: plans.reject(s, p, now=now))


@router.post("/plan/counter")
def plan_counter(turn: TurnDep, body: TextIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, turn, lambda s, p: plans.counter_offer(s, p, cfg, now=now, text=body.text))


@router.post("/promise")
def promise(turn: TurnDep, body: PromiseIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, turn, lambda s, p: promises.record_promise(
        s, p, cfg, now=now, date_value=body.date, amount_value=body.amount))


@router.post("/fallback")
def fallback(turn: TurnDep, body: FallbackIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _dialogue_cfg(container)
    limit, ranking = cfg.fallback.max_in_a_row, [(r.name, r.confidence) for r in body.ranking]
    if clarify.distress_suspected(ranking, cfg.clarify):  # misunderstood, but it may be distress: a person
        return _step(container, turn, lambda s, p: handoff.distress(
            s, p, now=now, pack=pack_of(container, p.cardholder.jurisdiction)))
    if (intent := clarify.fallback_question(ranking, cfg.clarify)) is not None:  # its best guess is worth asking
        return _step(container, turn, lambda s, p: clarify.question(intent))
    return _step(container, turn, lambda s, p: handoff.fallback(
        s, p, now=now, in_a_row=body.in_a_row, limit=limit))


@router.post("/clarify")
def clarify_step(turn: TurnDep, body: ClarifyIn, container: ContainerDep) -> StepResult:
    """Before a handoff action acts: `data.decision` is "act" (go on), "ask" (the question is the reply) or
    "distress" (escalated as distress here, the bot paused)."""
    now, cfg = container.clock.now(), _dialogue_cfg(container).clarify
    decision = clarify.decide(body.intent, body.confidence, [(r.name, r.confidence) for r in body.ranking], cfg)

    def work(session: Session, party: Party) -> TurnOutcome:
        if decision == "distress":
            outcome = handoff.distress(session, party, now=now, pack=pack_of(container, party.cardholder.jurisdiction))
            outcome.data["decision"] = "distress"
            return outcome
        if decision == "ask":
            return clarify.question(body.intent)
        return TurnOutcome(data={"decision": "act"})

    return _step(container, turn, work)


@router.post("/handoff")
def handoff_step(turn: TurnDep, body: HandoffIn, container: ContainerDep) -> StepResult:
    now = container.clock.now()
    confirm: dict[str, Any] = {}

    def work(session: Session, party: Party) -> TurnOutcome:
        reason, pack = body.reason, pack_of(container, party.cardholder.jurisdiction)
        if reason in ESCALATIONS:
            return handoff.hand_over(session, party, ESCALATIONS[reason], now=now, pack=pack)
        if reason == "distress":
            return handoff.distress(session, party, now=now, pack=pack)
        if reason == "dispute":
            return handoff.dispute(session, party, now=now, text=body.text, pack=pack)
        if reason == "already_paid":
            return handoff.already_paid(session, party, now=now, pack=pack)
        if reason == "wrong_number":
            return handoff.wrong_number(session, party, now=now, pack=pack)
        if reason == "third_party":
            return handoff.third_party(session, party, now=now, pack=pack)
        if reason == "cease" and pack is not None:
            outcome, kind = handoff.cease(session, party, now=now, pack=pack)
            if kind is not None:
                confirm.update(_who(party), purpose=MessagePurpose.CEASE_ACKNOWLEDGEMENT,
                               template_id=CEASE_ACKNOWLEDGEMENTS[kind])
            return outcome
        outcome, changed = handoff.opt_out(session, party, now=now, pack=pack)
        if changed:
            confirm.update(_who(party), purpose=MessagePurpose.OPT_OUT_CONFIRMATION,
                           template_id="opt_out.confirmation")
        return outcome

    result = _step(container, turn, work)
    if confirm:
        _confirm(container, turn.conversation_id, confirm)
    return result


# The one acknowledgement each kind of "stop contacting me" allows; it says exactly what stopped.
CEASE_ACKNOWLEDGEMENTS = {ProtectiveKind.CEASE: "cease.acknowledgement",
                          ProtectiveKind.STOP_ALL_CONTACT: "stop_all.acknowledgement"}


def _who(party: Party) -> dict[str, Any]:
    return {"cardholder_id": party.cardholder.id, "channel": party.contact_point.channel,
            "contact_point_id": party.contact_point.id}


def _confirm(container: Any, conversation_id: int, what: dict[str, Any]) -> None:
    """The single confirmation an opt-out or a cease allows, sent with its own purpose (a bot reply would be
    blocked after it), after the step's commit so the gate sees the new state."""
    gate = container.extras.get("gate")
    if gate is None:
        log.warning("internal_api.no_gate_for_confirmation", conversation_id=conversation_id)
        return
    gate.deliver(SendRequest(
        cardholder_id=what["cardholder_id"], channel=Channel(what["channel"]), purpose=what["purpose"],
        template_id=what["template_id"], author="bot", conversation_id=conversation_id,
        contact_point_id=what["contact_point_id"],
    ))
