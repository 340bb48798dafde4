"""The compliance services the review pages reuse, so the console and the CLI can never disagree:
the decision explanation (`accord compliance explain`), the reviewer export (`accord messages export`) and the
audit-chain verification (`accord audit verify`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.bootstrap import Container
from compliance.audit import VerifyResult
from compliance.audit import verify as verify_chain
from compliance.explain import MessageNotFound, explain_text, explanation
from compliance.export import message_records, write_csv, write_jsonl
from web.console.desk.wiring import catalog_changed

__all__ = ["catalog_changed", "explain", "export_lines", "verify", "VerifyResult"]
CHUNK = 64 * 1024


def explain(s: Session, message_id: int) -> tuple[dict[str, Any], str] | None:
    """The same facts and plain-language text `accord compliance explain` prints."""
    try:
        facts = explanation(s, message_id)
    except MessageNotFound:
        return None
    return facts, explain_text(facts)


def export_lines(container: Container, fmt: str, start: datetime | None, end: datetime | None,
                 account: str | None) -> Iterator[str]:
    """Exactly what `accord messages export` writes for the same options: the same query and writer.

    The export is written to a spooled temporary file (memory first, disk past 8 MB) and streamed from there,
    so a large export neither holds a database transaction open while the client downloads nor fills memory."""
    writer = write_csv if fmt == "csv" else write_jsonl
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+", encoding="utf-8", newline="")
    with container.session_factory() as session:
        writer(message_records(session, start=start, end=end, account=account), spool)
    spool.seek(0)

    def chunks() -> Iterator[str]:
        with spool:
            while block := spool.read(CHUNK):
                yield block

    return chunks()


def verify(s: Session) -> VerifyResult:
    return verify_chain(s)
