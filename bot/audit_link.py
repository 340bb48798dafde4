"""The bot's one link to the audit log. The compliance package owns the hash chain; this forwards to it with the
keyword arguments the bot and dialogue services use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from compliance import audit


def append_audit(
    session: Session,
    *,
    kind: str,
    actor: str,
    subject_type: str,
    subject_id: str | int,
    payload: dict[str, Any],
    at: datetime,
) -> None:
    # At the commit: a dialogue step goes on writing after its event (see audit.append_at_commit).
    audit.append_at_commit(session, audit.Entry(actor, kind, subject_type, subject_id, payload), at=at)
