"""Compliance review: the message log, decision explanations, exports, the audit chain and the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from core.clock import parse_instant
from storage.db import transaction
from storage.tables import Account, AuditEvent, ComplianceDecision, Message
from web.console import audit_trail, charts, i18n
from web.console.deps import Ctx, CurrentUser, language_of, require
from web.console.render import render
from web.console.review import dashboard, search
from web.console.review import wiring as services
from web.console.roles import Perm

router = APIRouter(prefix="/review")
Reviewer = Annotated[CurrentUser, Depends(require(Perm.REVIEW))]
Auditor = Annotated[CurrentUser, Depends(require(Perm.AUDIT))]
FILTER_CHOICES = {
    "channel": ("sms", "telegram"),
    "direction": ("inbound", "outbound"),
    "status": ("received", "sent", "delivered", "deferred", "blocked", "failed", "review"),
}


@router.get("/messages")
def messages_page(request: Request, ctx: Ctx, user: Reviewer, cursor: str | None = None) -> Response:
    try:
        filters = search.Filters.parse(dict(request.query_params))
    except search.SearchError as exc:
        return render(request, ctx, "review_messages.html", user, status_code=422, error=str(exc),
                      filters=search.Filters(), rows=[], next_cursor=None, choices=FILTER_CHOICES, query={},
                      export_query={})
    now = ctx.container.clock.now()
    error: str | None = None
    with transaction(ctx.container.session_factory) as s:
        try:
            rows, next_cursor = search.search(s, filters, ctx.config.search_page_size, cursor)
        except search.SearchError as exc:
            rows, next_cursor, error = [], None, str(exc)
        unmasked = user.can(Perm.UNMASKED)
        if unmasked and rows:
            audit_trail.record(s, user, "unmasked_view", "message_log", "search", now,
                               filters=filters.query_args(), first_id=rows[0].id, last_id=rows[-1].id,
                               count=len(rows))
    return render(request, ctx, "review_messages.html", user, active="messages", filters=filters, rows=rows,
                  next_cursor=next_cursor, error=error, choices=FILTER_CHOICES, unmasked=unmasked,
                  query=filters.query_args(), export_query=export_query(filters))


def export_query(filters: search.Filters) -> dict[str, str]:
    """The export covers the searched days: the search's inclusive `to` is the CLI's exclusive next day."""
    query = {"account": filters.account} if filters.account else {}
    if filters.date_from:
        query["from"] = filters.date_from.isoformat()
    if filters.date_to:
        query["to"] = (filters.date_to + timedelta(days=1)).isoformat()
    return query


@router.get("/messages/{message_id}")
def decision_page(request: Request, ctx: Ctx, user: Reviewer, message_id: int) -> Response:
    now = ctx.container.clock.now()
    with transaction(ctx.container.session_factory) as s:
        message = s.get(Message, message_id)
        if message is None:
            raise HTTPException(404, "no such message")
        decision = s.get(ComplianceDecision, message.decision_id) if message.decision_id else None
        account = s.get(Account, message.account_id) if message.account_id else None
        explained = services.explain(s, message_id)
        explanation = explained[1] if explained else None
        if user.can(Perm.UNMASKED):
            audit_trail.record(s, user, "unmasked_view", "message", message_id, now)
    return render(request, ctx, "review_decision.html", user, active="messages", message=message,
                  decision=decision, account=account, explanation=explanation,
                  unmasked=user.can(Perm.UNMASKED))


@router.get("/export")
def export(request: Request, ctx: Ctx, user: Reviewer, format: str = "csv", account: str = "",
           to: str = "") -> Response:
    """The reviewer export: the options and bytes of `accord messages export --format F --from --to --account`
    (a plain date means that day's start in UTC; `to` is exclusive)."""
    start_text = request.query_params.get("from", "")  # `from` is a Python keyword
    if format not in ("csv", "jsonl"):
        raise HTTPException(422, "format must be csv or jsonl")
    try:
        start, end = _bound(start_text, "from"), _bound(to, "to")
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    now = ctx.container.clock.now()
    with transaction(ctx.container.session_factory) as s:
        audit_trail.record(s, user, "export", "message_log", format, now, account=account or None,
                           start=start.isoformat() if start else None, end=end.isoformat() if end else None)
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    name = f"accord-messages-{now:%Y%m%dT%H%M%SZ}.{format}"
    lines = services.export_lines(ctx.container, format, start, end, account or None)
    return StreamingResponse(lines, media_type=f"{media}; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})


def _bound(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), UTC)
        return parse_instant(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc} (use YYYY-MM-DD or an ISO instant with offset)") from exc


@router.get("/audit")
def audit_page(request: Request, ctx: Ctx, user: Auditor) -> Response:
    with transaction(ctx.container.session_factory) as s:
        status = services.verify(s)
        recent = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(25)))
    return render(request, ctx, "review_audit.html", user, active="audit", status=status, recent=recent)


@router.get("/dashboard")
def dashboard_page(request: Request, ctx: Ctx, user: Reviewer, days: int | None = None) -> Response:
    days = max(1, min(days or ctx.config.dashboard_default_days, 366))
    end = ctx.container.clock.now()
    start = end - timedelta(days=days)
    with transaction(ctx.container.session_factory) as s:
        data = dashboard.build(s, start, end)
    lang = language_of(request, user)

    def stage_label(stage: str) -> str:
        return ctx.container.stages.label(stage, lang)

    def reason_label(code: str) -> str:
        key = f"reason.{code}"
        return i18n.translate(lang, key) if key in i18n.CATALOG else code

    return render(request, ctx, "review_dashboard.html", user, active="dashboard", d=data, days=days,
                  charts=charts, night=NIGHT_HOURS, stage_label=stage_label, reason_label=reason_label)


NIGHT_HOURS = (22, 23, 0, 1, 2, 3, 4, 5, 6, 7)
