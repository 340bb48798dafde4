"""Accord's internal API for the Rasa action server, under /internal/v1. Each route is one dialogue step.

Routes are thin: load the conversation, call one function of `accord.dialogue`, commit, answer with template ids
and slots. The action server never reaches the database; this is its only door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, status
from sqlalchemy.orm import Session

from accord.dialogue import handoff, plans, promises, verification
from accord.dialogue.config import load_dialogue, load_negotiation
from accord.dialogue.party import DialogueError, Party, TurnOutcome, load_party
from compliance.contract import SendRequest
from core.dialogue_sender import ForeignSender
from core.enums import Channel, EscalationReason, MessagePurpose
from storage.db import transaction
from storage.installation import dialogue_senders
from web.deps import ContainerDep
from web.internal_api.auth import Authenticated
from web.internal_api.schemas import (
    Context,
    FallbackIn,
    HandoffIn,
    HardshipIn,
    ParseIn,
    PromiseIn,
    StepResult,
    TextIn,
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


def _step(container: Any, conversation_id: int, work: Callable[[Session, Party], TurnOutcome]) -> StepResult:
    try:
        with transaction(container.session_factory) as session:
            party = load_party(session, conversation_id, lock=True)
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
def context(conversation_id: ConversationIdDep, container: ContainerDep) -> Context:
    max_attempts = _dialogue_cfg(container).verification.max_attempts
    try:
        with container.session_factory() as session:
            party = load_party(session, conversation_id)
            return Context(
                conversation_id=conversation_id, language=party.language, state=party.conversation.state,
                verified=party.verified, third_party=party.conversation.third_party,
                verification_locked=party.conversation.verification_attempts >= max_attempts,
                channel=party.contact_point.channel,
                stage=party.account.stage if party.verified and party.account else None,
            )
    except DialogueError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc


@router.post("/parse")
def parse(conversation_id: ConversationIdDep, body: ParseIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, conversation_id,
                 lambda s, p: promises.parse_slot(p, cfg, slot=body.slot, text=body.text, now=now))


@router.post("/verify")
def verify(conversation_id: ConversationIdDep, body: VerifyIn, container: ContainerDep) -> StepResult:
    now, attempts = container.clock.now(), _dialogue_cfg(container).verification.max_attempts
    return _step(container, conversation_id, lambda s, p: verification.verify(
        s, p, card_last4=body.card_last4, birth_year=body.birth_year, max_attempts=attempts, now=now))


@router.post("/balance")
def balance(conversation_id: ConversationIdDep, container: ContainerDep) -> StepResult:
    return _step(container, conversation_id, lambda s, p: promises.tell_balance(p))


@router.post("/hardship")
def hardship(conversation_id: ConversationIdDep, body: HardshipIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, conversation_id, lambda s, p: plans.offer(
        s, p, cfg, now=now, hardship_type=plans.first_known([body.hardship_type, *body.hardship_types]),
        reason_text=body.reason,
        affordable_text=body.affordable, affordable_minor=body.affordable_minor))


@router.post("/plan/select")
def plan_select(conversation_id: ConversationIdDep, body: TextIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, conversation_id, lambda s, p: plans.select_option(s, p, cfg, now=now, text=body.text))


@router.post("/plan/confirm")
def plan_confirm(conversation_id: ConversationIdDep, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, conversation_id, lambda s, p: plans.confirm(s, p, cfg, now=now))


@router.post("/plan/reject")
def plan_reject(conversation_id: ConversationIdDep, container: ContainerDep) -> StepResult:
    now = container.clock.now()
    return _step(container, conversation_id, lambda s, p: plans.reject(s, p, now=now))


@router.post("/plan/counter")
def plan_counter(conversation_id: ConversationIdDep, body: TextIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, conversation_id, lambda s, p: plans.counter_offer(s, p, cfg, now=now, text=body.text))


@router.post("/promise")
def promise(conversation_id: ConversationIdDep, body: PromiseIn, container: ContainerDep) -> StepResult:
    now, cfg = container.clock.now(), _negotiation(container)
    return _step(container, conversation_id, lambda s, p: promises.record_promise(
        s, p, cfg, now=now, date_value=body.date, amount_value=body.amount))


@router.post("/fallback")
def fallback(conversation_id: ConversationIdDep, body: FallbackIn, container: ContainerDep) -> StepResult:
    now, limit = container.clock.now(), _dialogue_cfg(container).fallback.max_in_a_row
    return _step(container, conversation_id, lambda s, p: handoff.fallback(
        s, p, now=now, in_a_row=body.in_a_row, limit=limit))


@router.post("/handoff")
def handoff_step(conversation_id: ConversationIdDep, body: HandoffIn, container: ContainerDep) -> StepResult:
    now = container.clock.now()
    opted_out: dict[str, Any] = {}

    def work(session: Session, party: Party) -> TurnOutcome:
        reason = body.reason
        if reason in ESCALATIONS:
            return handoff.hand_over(session, party, ESCALATIONS[reason], now=now)
        if reason == "distress":
            return handoff.distress(session, party, now=now)
        if reason == "dispute":
            return handoff.dispute(session, party, now=now, text=body.text)
        if reason == "already_paid":
            return handoff.already_paid(session, party, now=now)
        if reason == "wrong_number":
            return handoff.wrong_number(session, party, now=now)
        if reason == "third_party":
            return handoff.third_party(session, party, now=now)
        outcome, changed = handoff.opt_out(session, party, now=now)
        if changed:
            opted_out.update(cardholder_id=party.cardholder.id, channel=party.contact_point.channel,
                             contact_point_id=party.contact_point.id)
        return outcome

    result = _step(container, conversation_id, work)
    if opted_out:
        _confirm_opt_out(container, conversation_id, opted_out)
    return result


def _confirm_opt_out(container: Any, conversation_id: int, who: dict[str, Any]) -> None:
    """The single confirmation an opt-out allows, sent as such (a bot reply would be blocked after the opt-out)."""
    gate = container.extras.get("gate")
    if gate is None:
        log.warning("internal_api.no_gate_for_opt_out_confirmation", conversation_id=conversation_id)
        return
    gate.deliver(SendRequest(
        cardholder_id=who["cardholder_id"], channel=Channel(who["channel"]),
        purpose=MessagePurpose.OPT_OUT_CONFIRMATION, template_id="opt_out.confirmation", author="bot",
        conversation_id=conversation_id, contact_point_id=who["contact_point_id"],
    ))
