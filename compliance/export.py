"""The reviewer export: one record per message or send attempt, in jsonl or csv.

`message_records` is the one query behind `accord messages export` and the console's export, so both produce
identical files. Personal data beyond the listed columns is masked: the address keeps its country code and last
digits, and the cardholder appears only by external id.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.log_masking import mask_address
from compliance.hours import resolve_zone
from storage.tables import Account, Cardholder, ComplianceDecision, ContactPoint, Message

COLUMNS = (
    "id", "account", "direction", "channel", "status", "jurisdiction", "policy_version", "timezone",
    "created_at_utc", "sent_at_utc", "local_time", "template_id", "template_version", "reasons", "text",
    # Beyond the required columns: what a reviewer asks next. Addresses are masked.
    "cardholder", "purpose", "author", "outcome", "rule", "policy_pack", "address_masked", "language",
    "provider_message_id", "error_code", "decision_id",
)


def _utc(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def _local(at: datetime | None, zone_name: str | None) -> str | None:
    zone = resolve_zone(zone_name)
    return at.astimezone(zone).isoformat(timespec="seconds") if at and zone else None


def message_records(session: Session, *, start: datetime | None = None, end: datetime | None = None,
                    account: str | None = None, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Messages created in [start, end), oldest first, optionally for one account (its external id)."""
    query = (
        select(Message, ComplianceDecision, Cardholder.external_id, Cardholder.jurisdiction, Cardholder.timezone,
               Account.external_id, ContactPoint.address)
        .outerjoin(ComplianceDecision, ComplianceDecision.id == Message.decision_id)
        .outerjoin(Cardholder, Cardholder.id == Message.cardholder_id)
        .outerjoin(Account, Account.id == Message.account_id)
        .outerjoin(ContactPoint, ContactPoint.id == Message.contact_point_id)
        .order_by(Message.created_at, Message.id)
    )
    if start is not None:
        query = query.where(Message.created_at >= start)
    if end is not None:
        query = query.where(Message.created_at < end)
    if account is not None:
        query = query.where(Account.external_id == account)
    rows = session.execute(query.execution_options(yield_per=batch))
    for message, decision, holder_ext, jurisdiction, holder_tz, account_ext, address in rows:
        yield _record(message, decision, holder_ext, jurisdiction, holder_tz, account_ext,
                      address or message.from_address)


def _record(message: Message, decision: ComplianceDecision | None, holder_ext: str | None, jurisdiction: str | None,
            holder_tz: str | None, account_ext: str | None, address: str | None) -> dict[str, Any]:
    zone_name = decision.timezone if decision and decision.timezone else holder_tz
    if message.sent_at is not None:
        local = _local(message.sent_at, zone_name)
    elif decision is not None and decision.local_time:
        local = decision.local_time
    else:
        local = _local(message.created_at, zone_name)
    return {
        "id": message.id,
        "account": account_ext,
        "direction": message.direction,
        "channel": message.channel,
        "status": message.status,
        "jurisdiction": jurisdiction,
        "policy_version": decision.policy_version if decision else None,
        "timezone": zone_name,
        "created_at_utc": _utc(message.created_at),
        "sent_at_utc": _utc(message.sent_at),
        "local_time": local,
        "template_id": message.template_id,
        "template_version": message.template_version,
        "reasons": list(decision.reasons) if decision else [],
        "text": message.text,
        "cardholder": holder_ext,
        "purpose": message.purpose,
        "author": message.author,
        "outcome": decision.outcome if decision else None,
        "rule": decision.rule if decision else None,
        "policy_pack": decision.policy_pack if decision else None,
        "address_masked": mask_address(address) if address else None,
        "language": message.language,
        "provider_message_id": message.provider_message_id,
        "error_code": message.error_code,
        "decision_id": decision.id if decision else None,
    }


def write_jsonl(records: Iterable[dict[str, Any]], out: io.TextIOBase | Any) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[dict[str, Any]], out: io.TextIOBase | Any) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow({**record, "reasons": ";".join(record["reasons"])})
        count += 1
    return count
