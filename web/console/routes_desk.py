"""The officer desk: queue, claiming, the conversation view and the actions an officer takes on a case."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from accord.policy_packs import pack_of
from storage.db import transaction
from storage.tables import Account, Cardholder, Conversation
from web.console import audit_trail
from web.console.deps import Ctx, CurrentUser, require
from web.console.desk import handback, plans, reply
from web.console.desk.case_view import load_case, load_thread
from web.console.desk.outcomes import OutcomeError, OutcomeForm, record_outcome
from web.console.desk.protection import may_act
from web.console.desk.protection_view import load_panel
from web.console.desk.queue import ClaimLost, claim, open_queue
from web.console.desk.wiring import registered_phone_counts
from web.console.formatting import parse_amount
from web.console.masking import Viewer
from web.console.render import render
from web.console.roles import Perm

router = APIRouter()
Desk = Annotated[CurrentUser, Depends(require(Perm.DESK))]
Approver = Annotated[CurrentUser, Depends(require(Perm.APPROVE_PLANS))]


DONE = frozenset({"plan_proposed", "plan_pending", "outcome_saved", "handed_back", "claimed", "state_set",
                  "state_unchanged", "state_confirmed", "state_lifted", "dispute_rejected"})


def finish(request: Request, url: str, done: str) -> Response:
    """After an action: htmx follows HX-Redirect, a plain form post a 303; the page shows what was done."""
    target = f"{url}?done={done}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _done(done: str | None) -> str | None:
    return done if done in DONE else None


@router.get("/queue")
def queue_page(request: Request, ctx: Ctx, user: Desk, done: str | None = None) -> Response:
    return render(request, ctx, "queue.html", user, done=_done(done), **_queue(ctx, user))


@router.get("/queue/rows")
def queue_rows(request: Request, ctx: Ctx, user: Desk) -> Response:
    return render(request, ctx, "_queue_rows.html", user, **_queue(ctx, user))


def _queue(ctx: Ctx, user: CurrentUser) -> dict[str, Any]:
    now = ctx.container.clock.now()
    with transaction(ctx.container.session_factory) as s:
        return {"items": open_queue(s, ctx.config, now, Viewer.of(user)), "now": now}


@router.post("/escalations/{escalation_id}/claim")
def claim_escalation(request: Request, ctx: Ctx, user: Desk, escalation_id: int) -> Response:
    now = ctx.container.clock.now()
    try:
        with transaction(ctx.container.session_factory) as s:
            esc = claim(s, escalation_id, user.username, now)
            audit_trail.record(s, user, "claim", "escalation", escalation_id, now,
                               conversation_id=esc.conversation_id, reason=esc.reason)
            target = f"/console/conversations/{esc.conversation_id}" if esc.conversation_id else "/console/queue"
    except ClaimLost:
        return render(request, ctx, "queue.html", user, status_code=409, error="queue.claim_lost",
                      **_queue(ctx, user))
    return finish(request, target, "claimed")


def _case(ctx: Ctx, user: CurrentUser, conversation_id: int, lang: str) -> dict[str, Any]:
    viewer = Viewer.of(user)
    now = ctx.container.clock.now()
    with transaction(ctx.container.session_factory) as s:
        case = load_case(s, conversation_id, viewer, lang, user.username, now,
                         registered_phone_counts=lambda j: registered_phone_counts(ctx.container, j))
        if case is None:
            raise HTTPException(404, "no such conversation")
        conv = case.conversation
        panel = load_panel(s, conv.cardholder_id, conv.contact_point_id, viewer=viewer,
                           case_needs=conv.held_by == user.username, role=user.role,
                           pack=pack_of(ctx.container, case.jurisdiction), now=now)
        if viewer.revealed:
            audit_trail.record(s, user, "unmasked_view", "conversation", conversation_id, now,
                               subjects=sorted(viewer.revealed))
    limits = ctx.config.plan_limits.get(user.role) or ctx.config.plan_limits["officer"]
    holds = case.conversation.held_by == user.username
    return {"case": case, "holds": holds, "limits": limits, "protection": panel,
            "acts_on_states": may_act(case.conversation.held_by, user.username, user.role)}


@router.get("/conversations/{conversation_id}")
def conversation_page(request: Request, ctx: Ctx, user: Desk, conversation_id: int,
                      done: str | None = None) -> Response:
    return render(request, ctx, "conversation.html", user, conversation_id=conversation_id, done=_done(done),
                  **_case(ctx, user, conversation_id, user.language))


@router.get("/conversations/{conversation_id}/thread")
def thread_partial(request: Request, ctx: Ctx, user: Desk, conversation_id: int, after: int = 0) -> Response:
    with transaction(ctx.container.session_factory) as s:
        turns = load_thread(s, conversation_id, after_id=after)
    return render(request, ctx, "_turns.html", user, turns=turns, conversation_id=conversation_id, after=after)


def _held(ctx: Ctx, user: CurrentUser, conversation_id: int) -> Conversation:
    with transaction(ctx.container.session_factory) as s:
        conv = s.get(Conversation, conversation_id)
    if conv is None:
        raise HTTPException(404, "no such conversation")
    if conv.held_by != user.username:
        raise HTTPException(409, "claim this conversation from the queue before acting on it")
    return conv


@router.post("/conversations/{conversation_id}/reply")
def send_reply(request: Request, ctx: Ctx, user: Desk, conversation_id: int, text: Annotated[str, Form()] = "",
               template_id: Annotated[str, Form()] = "") -> Response:
    conv = _held(ctx, user, conversation_id)
    result = reply.send(ctx.container, conv, user, text, template_id or None)
    return render(request, ctx, "_reply_result.html", user, result=result, conversation_id=conversation_id)


@router.post("/conversations/{conversation_id}/plan")
def propose_plan(request: Request, ctx: Ctx, user: Desk, conversation_id: int,
                 account_id: Annotated[int, Form()], term_months: Annotated[int, Form()],
                 down_payment: Annotated[str, Form()] = "0", discount_bp: Annotated[int, Form()] = 0,
                 waive_fees: Annotated[bool, Form()] = False,
                 waive_interest: Annotated[bool, Form()] = False) -> Response:
    conv = _held(ctx, user, conversation_id)
    now = ctx.container.clock.now()
    limits = ctx.config.plan_limits.get(user.role) or ctx.config.plan_limits["officer"]
    with transaction(ctx.container.session_factory) as s:
        account = s.get(Account, account_id)
        if account is None or account.cardholder_id != conv.cardholder_id:
            raise HTTPException(404, "no such account on this case")
        try:
            terms = plans.PlanTerms(term_months=term_months,
                                    down_payment_minor=parse_amount(down_payment, account.currency),
                                    settlement_discount_bp=discount_bp, fees_waived=waive_fees,
                                    interest_waived=waive_interest)
            plan, why = plans.propose(s, account, conv.id, terms, f"officer:{user.username}", limits, now,
                                      ctx.negotiation)
        except ValueError as exc:  # PlanError or a malformed amount
            return render(request, ctx, "_notice.html", user, status_code=422, level="error",
                          message=("conv.plan_refused", {"why": str(exc)}))
        audit_trail.record(s, user, "plan_proposed", "installment_plan", plan.id, now, account=account.external_id,
                           status=plan.status, term=plan.term_months, monthly_minor=plan.monthly_minor,
                           beyond_limits=why)
    return finish(request, f"/console/conversations/{conversation_id}", "plan_pending" if why else "plan_proposed")


@router.post("/conversations/{conversation_id}/outcome")
def outcome(request: Request, ctx: Ctx, user: Desk, conversation_id: int, kind: Annotated[str, Form()],
            account_id: Annotated[int | None, Form()] = None, amount: Annotated[str, Form()] = "",
            promised_date: Annotated[str, Form()] = "", plan_id: Annotated[int | None, Form()] = None,
            dnc_reason: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    conv = _held(ctx, user, conversation_id)
    now = ctx.container.clock.now()
    try:
        with transaction(ctx.container.session_factory) as s:
            row = s.get(Conversation, conv.id)
            holder = s.get(Cardholder, conv.cardholder_id)
            assert row is not None and holder is not None
            account = s.get(Account, account_id) if account_id else None
            currency = account.currency if account else holder.accounts[0].currency if holder.accounts else "USD"
            form = OutcomeForm(
                kind=kind, account_id=account_id,
                amount_minor=parse_amount(amount, currency) if amount else None,
                promised_date=date.fromisoformat(promised_date) if promised_date else None,
                plan_id=plan_id, dnc_reason=dnc_reason or None, note=note.strip() or None)
            local_today = now.astimezone(ZoneInfo(holder.timezone)).date()
            detail = record_outcome(s, row, form, user.username, now, local_today,
                                    ctx.negotiation_file.first_payment_days,
                                    pack=pack_of(ctx.container, holder.jurisdiction))
            audit_trail.record(s, user, "outcome", "conversation", conv.id, now, **detail)
    except (OutcomeError, ValueError) as exc:
        return render(request, ctx, "_notice.html", user, status_code=422, level="error",
                      message=("conv.plan_refused", {"why": str(exc)}))
    return finish(request, f"/console/conversations/{conversation_id}", "outcome_saved")


@router.post("/conversations/{conversation_id}/handback")
def hand_back(request: Request, ctx: Ctx, user: Desk, conversation_id: int) -> Response:
    _held(ctx, user, conversation_id)
    problem = handback.hand_back(ctx.container, conversation_id, user)
    if problem:
        return render(request, ctx, "_notice.html", user, status_code=502, level="error",
                      message=("conv.handback_failed", {"why": problem}))
    return finish(request, "/console/queue", "handed_back")


@router.get("/approvals")
def approvals_page(request: Request, ctx: Ctx, user: Approver) -> Response:
    officer_limits = ctx.config.plan_limits["officer"]
    rows = []
    with transaction(ctx.container.session_factory) as s:
        for plan in plans.pending(s):
            account = s.get(Account, plan.account_id)
            assert account is not None
            terms = plans.PlanTerms(plan.term_months, plan.down_payment_minor, plan.settlement_discount_bp,
                                    plan.fees_waived, plan.interest_waived)
            why = plans.beyond_limits(terms, officer_limits) + plans.against_policy(account, terms,
                                                                                  plan.monthly_minor, ctx.negotiation)
            rows.append((plan, account, why))
    return render(request, ctx, "approvals.html", user, active="approvals", rows=rows)


@router.post("/approvals/{plan_id}")
def decide_plan(ctx: Ctx, user: Approver, plan_id: int, decision: Annotated[str, Form()]) -> Response:
    now = ctx.container.clock.now()
    with transaction(ctx.container.session_factory) as s:
        plan = plans.decide(s, plan_id, f"supervisor:{user.username}", approve=decision == "approve")
        if plan is None:
            raise HTTPException(409, "this plan is no longer waiting for approval")
        audit_trail.record(s, user, "plan_" + ("approved" if decision == "approve" else "rejected"),
                           "installment_plan", plan_id, now)
    return RedirectResponse("/console/approvals", status_code=303)
