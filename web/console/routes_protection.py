"""Protective states on the officer desk: set one with its evidence, confirm a proposal, decide how one ends.

The services (web/console/desk/protection.py, over compliance/protection*.py) enforce every rule and audit every
decision; a refused form comes back as a notice with the service's reason, never as a server error.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from accord.policy_packs import pack_of
from compliance.packs import Pack
from storage.db import transaction
from storage.tables import Cardholder, Conversation
from web.console import audit_trail
from web.console.deps import Ctx, CurrentUser, require
from web.console.desk import protection
from web.console.render import render
from web.console.roles import Perm
from web.console.routes_desk import finish

router = APIRouter()
Desk = Annotated[CurrentUser, Depends(require(Perm.DESK))]


def _conversation(ctx: Ctx, user: CurrentUser, conversation_id: int) -> tuple[Conversation, Pack | None]:
    with transaction(ctx.container.session_factory) as s:
        conv = s.get(Conversation, conversation_id)
        holder = s.get(Cardholder, conv.cardholder_id) if conv is not None else None
    if conv is None or holder is None:
        raise HTTPException(404, "no such conversation")
    if not protection.may_act(conv.held_by, user.username, user.role):
        raise HTTPException(409, "claim this conversation from the queue before acting on it")
    return conv, pack_of(ctx.container, holder.jurisdiction)


def _refused(request: Request, ctx: Ctx, user: CurrentUser, why: str) -> Response:
    return render(request, ctx, "_notice.html", user, status_code=422, level="error",
                  message=("prot.refused", {"why": why}))


def _page(conversation_id: int) -> str:
    return f"/console/conversations/{conversation_id}"


@router.post("/conversations/{conversation_id}/protection")
def set_state(request: Request, ctx: Ctx, user: Desk, conversation_id: int, kind: Annotated[str, Form()],
              reason: Annotated[str, Form()] = "", message_id: Annotated[str, Form()] = "",
              attorney_name: Annotated[str, Form()] = "", attorney_contact: Annotated[str, Form()] = "",
              case_number: Annotated[str, Form()] = "", court: Annotated[str, Form()] = "",
              driver: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    conv, pack = _conversation(ctx, user, conversation_id)
    now = ctx.container.clock.now()
    if message_id.strip() and not message_id.strip().isdigit():
        return _refused(request, ctx, user, f"message {message_id!r} is not a message id")
    form = protection.StateForm(kind=kind, reason=reason, message_id=int(message_id) if message_id.strip() else None,
                                attorney_name=attorney_name, attorney_contact=attorney_contact,
                                case_number=case_number, court=court, driver=driver, note=note)
    try:
        with transaction(ctx.container.session_factory) as s:
            row = s.get(Conversation, conv.id)
            assert row is not None
            state = protection.set_from_console(s, row, form, user.username, now, pack)
    except protection.ProtectionError as exc:
        return _refused(request, ctx, user, str(exc))
    return finish(request, _page(conversation_id), "state_set" if state is not None else "state_unchanged")


@router.post("/conversations/{conversation_id}/protection/{state_id}/confirm")
def confirm_state(request: Request, ctx: Ctx, user: Desk, conversation_id: int, state_id: int) -> Response:
    conv, pack = _conversation(ctx, user, conversation_id)
    now = ctx.container.clock.now()
    try:
        with transaction(ctx.container.session_factory) as s:
            row = s.get(Conversation, conv.id)
            assert row is not None
            protection.confirm_proposal(s, row, state_id, user.username, now, pack)
    except protection.ProtectionError as exc:
        return _refused(request, ctx, user, str(exc))
    return finish(request, _page(conversation_id), "state_confirmed")


@router.post("/conversations/{conversation_id}/protection/{state_id}/decide")
def decide_state(request: Request, ctx: Ctx, user: Desk, conversation_id: int, state_id: int,
                 outcome: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
                 resume_on: Annotated[str, Form()] = "") -> Response:
    conv, pack = _conversation(ctx, user, conversation_id)
    if pack is None:
        return _refused(request, ctx, user, "this cardholder's jurisdiction has no policy pack")
    now = ctx.container.clock.now()
    try:
        resume = date.fromisoformat(resume_on) if resume_on.strip() else None
    except ValueError:
        return _refused(request, ctx, user, f"{resume_on!r} is not a date")
    try:
        with transaction(ctx.container.session_factory) as s:
            row = s.get(Conversation, conv.id)
            assert row is not None
            state, notice = protection.decide(s, row, state_id, outcome=outcome, reason=reason,
                                              username=user.username, role=user.role, now=now, pack=pack,
                                              resume_on=resume)
            if notice is not None:  # the state's own events are the service's; this one is the desk's
                audit_trail.record(s, user, "validation_notice_queued", "cardholder", state.cardholder_id, now,
                                   state_id=state.id, outbox_id=notice.id, conversation_id=conv.id)
    except protection.ProtectionError as exc:
        return _refused(request, ctx, user, str(exc))
    done = "dispute_rejected" if notice is not None else "state_lifted"
    return finish(request, _page(conversation_id), done)
