"""Every console action lands in the hash-chained audit log (compliance/audit.py) with the user who did it.

Events are appended in the caller's transaction, so an action and its audit record commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from compliance import audit
from web.console.deps import CurrentUser


def record(s: Session, user: CurrentUser | str, kind: str, subject_type: str, subject_id: object,
           at: datetime, **payload: Any) -> None:
    """Append `console.<kind>` with actor "user:<username>" (or the given actor string)."""
    actor = user.actor if isinstance(user, CurrentUser) else user
    audit.append(s, actor, f"console.{kind}", subject_type, str(subject_id), payload, at=at)
