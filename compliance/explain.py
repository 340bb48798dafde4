"""A gate decision in plain language, for `accord compliance explain MESSAGE_ID` and the review console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.hours import resolve_zone
from compliance.reasons import plain
from storage.tables import Account, AuditEvent, Cardholder, ComplianceDecision, Message

VERDICT = {"allow": "ALLOWED", "defer": "DEFERRED", "block": "BLOCKED"}


class MessageNotFound(LookupError):
    pass


def _utc(at: datetime | None) -> str:
    return at.isoformat().replace("+00:00", "Z") if at else "-"


def explanation(session: Session, message_id: int) -> dict[str, Any]:
    """The facts of one message's decision as a JSON-ready mapping (the console renders the same mapping)."""
    message = session.get(Message, message_id)
    if message is None:
        raise MessageNotFound(f"no message with id {message_id}")
    holder = session.get(Cardholder, message.cardholder_id) if message.cardholder_id else None
    account = session.get(Account, message.account_id) if message.account_id else None
    decision = session.get(ComplianceDecision, message.decision_id) if message.decision_id else None
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "compliance.decision", AuditEvent.subject_type == "message",
                                 AuditEvent.subject_id == str(message.id)).limit(1)
    ).first()
    return {
        "message_id": message.id,
        "direction": message.direction,
        "channel": message.channel,
        "purpose": message.purpose,
        "status": message.status,
        "author": message.author,
        "cardholder": holder.external_id if holder else None,
        "account": account.external_id if account else None,
        "template_id": message.template_id,
        "template_version": message.template_version,
        "language": message.language,
        "created_at_utc": _utc(message.created_at),
        "sent_at_utc": _utc(message.sent_at) if message.sent_at else None,
        "provider_message_id": message.provider_message_id,
        "error_code": message.error_code,
        "text": message.text,
        # A message of several parts (one turn's replies): every template it holds, in order.
        "parts": list((decision.counters or {}).get("parts") or []) if decision is not None else [],
        "decision": None if decision is None else {
            "id": decision.id,
            "outcome": decision.outcome,
            "rule": decision.rule,
            "reasons": list(decision.reasons),
            "policy_pack": decision.policy_pack,
            "policy_version": decision.policy_version,
            "timezone": decision.timezone,
            "local_time": decision.local_time,
            "defer_until_utc": _utc(decision.defer_until) if decision.defer_until else None,
            "checks": list(decision.checks),
            "counters": dict(decision.counters),
        },
        "audit": None if event is None else {"seq": event.seq, "hash": event.hash},
    }


def explain_text(facts: dict[str, Any]) -> str:
    lines = [
        f"Message {facts['message_id']}: {facts['direction']} {facts['channel']} {facts['purpose'] or ''}".rstrip()
        + f", status {facts['status']}",
        f"  cardholder {facts['cardholder'] or '-'}, account {facts['account'] or '-'}, written by {facts['author']}",
        f"  created {facts['created_at_utc']}" + (f", sent {facts['sent_at_utc']}" if facts["sent_at_utc"] else ""),
    ]
    if facts["template_id"]:
        lines.append(f"  template {facts['template_id']} v{facts['template_version']} ({facts['language']})")
    if facts.get("parts"):
        lines.append(f"  one message of {len(facts['parts'])} parts, in order: " + ", ".join(
            f"{part['template_id']} v{part['version'] if part['version'] is not None else '? (not rendered)'}"
            for part in facts["parts"]))
    decision = facts["decision"]
    if decision is None:
        lines.append("No compliance decision: inbound messages are not gated." if facts["direction"] == "inbound"
                     else "No compliance decision is recorded for this message.")
        return "\n".join(lines)
    lines += _decision_lines(decision)
    lines.append("Text:")
    lines.append(f"  {facts['text'] or '(not rendered)'}")
    if facts["audit"]:
        lines.append(f"Audit: recorded as seq {facts['audit']['seq']} (hash {facts['audit']['hash'][:16]}...)")
    return "\n".join(lines)


def _decision_lines(decision: dict[str, Any]) -> list[str]:
    verdict = VERDICT.get(decision["outcome"], decision["outcome"].upper())
    lines = [f"Decision: {verdict} under policy {decision['policy_pack']} version {decision['policy_version']}"]
    if decision["local_time"]:
        lines.append(f"  the cardholder's local time was {decision['local_time']} ({decision['timezone']})")
    else:
        lines.append(f"  the cardholder's local time is unknown (timezone {decision['timezone'] or 'missing'!r})")
    if decision["rule"]:
        lines.append(f"  deciding rule: {decision['rule']}")
    for reason in decision["reasons"]:
        lines.append(f"  because {plain(reason)} [{reason}]")
    if decision["defer_until_utc"]:
        local = decision["counters"].get("defer_until_local") or _local(decision["defer_until_utc"], decision["timezone"])
        lines.append(f"  it will be tried again at {local} ({decision['defer_until_utc']})")
    lines.append("Checks:")
    for check in decision["checks"]:
        mark = "PASS" if check.get("passed") else "FAIL"
        lines.append(f"  {mark} {check.get('rule')}: {check.get('detail')}")
    lines.append("Counters at the time:")
    counters = decision["counters"]
    for name, cap in (counters.get("caps") or {}).items():
        lines.append(f"  {name}: {cap['count']} of {cap['max']} counted contacts in the last {cap['window_hours']} hours")
    if "counts_toward_cap" in counters:
        counted = "counts" if counters["counts_toward_cap"] else "does not count"
        lines.append(f"  this message {counted} toward the caps ({counters.get('counted_because', '')})")
    if "contacts_total" in counters:
        lines.append(f"  contacts sent before it: {counters['contacts_total']}, last at {counters.get('last_contact_at') or '-'}")
    for key in ("opt_out_confirmations_sent", "cease_acknowledgements_sent"):
        if key in counters:
            lines.append(f"  {key.replace('_', ' ')}: {counters[key]}")
    return lines


def _local(utc_iso: str, zone_name: str | None) -> str:
    zone = resolve_zone(zone_name)
    if zone is None:
        return utc_iso
    return datetime.fromisoformat(utc_iso.replace("Z", "+00:00")).astimezone(zone).isoformat(timespec="seconds")
