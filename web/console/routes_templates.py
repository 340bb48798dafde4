"""The template catalog workflow pages (compliance reviewers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from storage.db import transaction
from web.console import audit_trail
from web.console.deps import Ctx, CurrentUser, require
from web.console.render import render
from web.console.review import templates_flow as flow
from web.console.review.catalog_writer import CatalogWriteError
from web.console.review.wiring import catalog_changed
from web.console.roles import Perm

router = APIRouter(prefix="/review/templates")
Editor = Annotated[CurrentUser, Depends(require(Perm.TEMPLATES))]


@router.get("")
def catalog_page(request: Request, ctx: Ctx, user: Editor) -> Response:
    cat = flow.catalog(ctx.container.settings.accord_config_dir)
    with transaction(ctx.container.session_factory) as s:
        drafts: dict[str, int] = {}
        for d in flow.open_drafts(s):
            drafts[d.template_id] = drafts.get(d.template_id, 0) + 1
    rows = [(t, flow.lint(cat, t, t.text, t.language)) for t in cat if t.kind == "message"]
    return render(request, ctx, "templates.html", user, active="templates", rows=rows, drafts=drafts)


@router.get("/{template_id}")
def template_page(request: Request, ctx: Ctx, user: Editor, template_id: str, error: str | None = None) -> Response:
    cat = flow.catalog(ctx.container.settings.accord_config_dir)
    variants = [t for t in (cat.get(template_id, lang) for lang in ("zh", "en")) if t is not None]
    if not variants:
        raise HTTPException(404, "no such template")
    with transaction(ctx.container.session_factory) as s:
        drafts = flow.open_drafts(s, template_id)
    current = {t.language: t for t in variants}
    draft_views = [(d, flow.diff(current[d.language].text if d.language in current else "", d.text),
                    flow.lint(cat, current.get(d.language), d.text, d.language)) for d in drafts]
    return render(request, ctx, "template_detail.html", user, active="templates", template_id=template_id,
                  variants=[(t, flow.lint(cat, t, t.text, t.language)) for t in variants], drafts=draft_views,
                  error=error)


def _back(template_id: str, error: str | None = None) -> Response:
    from urllib.parse import quote

    url = f"/console/review/templates/{template_id}" + (f"?error={quote(error)}" if error else "")
    return RedirectResponse(url, status_code=303)


@router.post("/{template_id}/drafts")
def new_draft(ctx: Ctx, user: Editor, template_id: str, language: Annotated[str, Form()],
              text: Annotated[str, Form()]) -> Response:
    cat = flow.catalog(ctx.container.settings.accord_config_dir)
    now = ctx.container.clock.now()
    try:
        with transaction(ctx.container.session_factory) as s:
            draft = flow.create_draft(s, cat, template_id, language, text, user.username, now)
            audit_trail.record(s, user, "template_draft", "template", template_id, now, language=language,
                               draft_id=draft.id, text=draft.text)
    except flow.WorkflowError as exc:
        return _back(template_id, str(exc))
    return _back(template_id)


@router.post("/{template_id}/approve")
def approve(ctx: Ctx, user: Editor, template_id: str, language: Annotated[str, Form()],
            draft_id: Annotated[int | None, Form()] = None) -> Response:
    config_dir = ctx.container.settings.accord_config_dir
    cat = flow.catalog(config_dir)
    now = ctx.container.clock.now()
    try:
        with transaction(ctx.container.session_factory) as s:
            if draft_id is not None:
                draft, before = flow.approve_draft(s, cat, config_dir, draft_id, user.username, now)
                after = draft.text
            else:
                before = flow.approve_in_file(cat, config_dir, template_id, language, user.username, now)
                after = str(before.get("text"))
            audit_trail.record(s, user, "template_approved", "template", template_id, now, language=language,
                               draft_id=draft_id, previous_version=before.get("version"),
                               previous_text=str(before.get("text")), text=after)
    except (flow.WorkflowError, CatalogWriteError) as exc:
        return _back(template_id, str(exc))
    catalog_changed(ctx.container)
    return _back(template_id)


@router.post("/{template_id}/retire")
def retire(ctx: Ctx, user: Editor, template_id: str, language: Annotated[str, Form()]) -> Response:
    config_dir = ctx.container.settings.accord_config_dir
    now = ctx.container.clock.now()
    try:
        before = flow.retire(flow.catalog(config_dir), config_dir, template_id, language)
    except (flow.WorkflowError, CatalogWriteError) as exc:
        return _back(template_id, str(exc))
    with transaction(ctx.container.session_factory) as s:
        audit_trail.record(s, user, "template_retired", "template", template_id, now, language=language,
                           version=before.get("version"))
    catalog_changed(ctx.container)
    return _back(template_id)
