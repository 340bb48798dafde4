"""The template workflow: draft -> approved -> retired, with the approver, a diff and the lint.

Drafts written in the console wait in `template_drafts`. Approval (by a compliance reviewer other than the
draft's author, with no lint findings) writes the text into the template's YAML file as the next version, with
approver and date; retiring sets the variant's status. The YAML catalog stays the one source the gate reads,
and each transition is also an audit event carrying the old and new text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.catalog import Catalog, Template, load_catalog, placeholders
from compliance.lint import load_linter
from storage.tables import TemplateDraft
from web.console.review.catalog_writer import update_variant


class WorkflowError(ValueError):
    pass


@dataclass(frozen=True)
class DiffLine:
    kind: str  # same | add | del
    text: str


def catalog(config_dir: Path) -> Catalog:
    return load_catalog(config_dir, load_linter(config_dir))


def lint(cat: Catalog, template: Template | None, text: str, language: str) -> list[str]:
    findings = cat.linter.lint(text, language)
    if template is not None and template.limited_content:
        findings += cat.linter.lint_limited(text, language)
    return [f.describe() for f in findings]


def diff(old: str, new: str) -> list[DiffLine]:
    """Word-level is noisy for Chinese; a line/sentence diff reads well in both languages."""
    def split(text: str) -> list[str]:
        return [part for part in text.replace("。", "。\n").replace(". ", ".\n").splitlines() if part.strip()]

    out = []
    for line in difflib.ndiff(split(old), split(new)):
        tag, body = line[:2], line[2:]
        if tag == "? ":
            continue
        out.append(DiffLine({"+ ": "add", "- ": "del"}.get(tag, "same"), body))
    return out


def open_drafts(s: Session, template_id: str | None = None) -> list[TemplateDraft]:
    q = select(TemplateDraft).where(TemplateDraft.status == "open").order_by(TemplateDraft.created_at)
    if template_id:
        q = q.where(TemplateDraft.template_id == template_id)
    return list(s.scalars(q))


def create_draft(s: Session, cat: Catalog, template_id: str, language: str, text: str, author: str,
                 now: datetime) -> TemplateDraft:
    current = cat.get(template_id, language)
    if current is None:
        raise WorkflowError(f"template {template_id} has no {language} variant")
    text = text.strip()
    if not text:
        raise WorkflowError("the draft text is empty")
    try:
        if sorted(placeholders(text)) != sorted(current.fields):
            raise WorkflowError(f"placeholders must stay {', '.join('{' + f + '}' for f in current.fields) or 'none'}")
    except ValueError as exc:
        raise WorkflowError(str(exc)) from exc
    draft = TemplateDraft(template_id=template_id, language=language, base_version=current.version, text=text,
                          author=author, status="open", created_at=now)
    s.add(draft)
    s.flush()
    return draft


def approve_draft(s: Session, cat: Catalog, config_dir: Path, draft_id: int, approver: str,
                  now: datetime) -> tuple[TemplateDraft, dict[str, object]]:
    draft = s.get(TemplateDraft, draft_id, with_for_update=True)
    if draft is None or draft.status != "open":
        raise WorkflowError("this draft is no longer open")
    if draft.author == approver:
        raise WorkflowError("a draft needs a second reviewer: its author cannot approve it")
    current = cat.get(draft.template_id, draft.language)
    if current is None:
        raise WorkflowError(f"template {draft.template_id} is gone from the catalog")
    findings = lint(cat, current, draft.text, draft.language)
    if findings:
        raise WorkflowError("lint findings block approval: " + "; ".join(findings))
    before = update_variant(config_dir / "templates" / current.file, draft.template_id, draft.language,
                            version=current.version + 1, status="approved", approver=approver,
                            approved_at=now.date(), text=draft.text)
    draft.status, draft.decided_by, draft.decided_at = "approved", approver, now
    return draft, before


def approve_in_file(cat: Catalog, config_dir: Path, template_id: str, language: str, approver: str,
                    now: datetime) -> dict[str, object]:
    """A variant someone put into the YAML file as `status: draft`: approve it where it is."""
    current = cat.get(template_id, language)
    if current is None or current.status != "draft":
        raise WorkflowError("only a draft variant can be approved")
    findings = lint(cat, current, current.text, language)
    if findings:
        raise WorkflowError("lint findings block approval: " + "; ".join(findings))
    return update_variant(config_dir / "templates" / current.file, template_id, language, status="approved",
                          approver=approver, approved_at=now.date())


def retire(cat: Catalog, config_dir: Path, template_id: str, language: str) -> dict[str, object]:
    current = cat.get(template_id, language)
    if current is None or current.status == "retired":
        raise WorkflowError("only an approved or draft variant can be retired")
    return update_variant(config_dir / "templates" / current.file, template_id, language, status="retired")
